/**
 * Issue 7: a flood of 10 000 forged adverts per second for 10 s from a third host, each
 * from a different spoofed source, at a healthy vipd pair. Every packet fails a check.
 * The pair must not move, both daemons stay up and answer vipctl, their memory stays
 * bounded, the MASTER keeps its one-second rhythm (captured on the backup), and the log
 * does not grow with the number of spoofed sources. The numbers are reported.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from '../../src/control/client.js';
import type { StatusDocument } from '../../src/control/status.js';
import { hostileFrame, Injector, type FloodResult } from '../helpers/injector.js';
import { Lan, netnsSkip, type NsProcess } from '../helpers/netns.js';
import { holders, sleep, VipdHost, vrrpConf, type InstanceSpec } from '../helpers/vipd.js';

const PPS = 10_000;
const DURATION_MS = 10_000;
const SPOOFED_SOURCES = 50_000;
/** Growth of the resident set over the flood; generous (a leak of one entry per source would pass 40 MB). */
const RSS_BOUND_KB = 40 * 1024;

async function rssKb(pid: number): Promise<number> {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

/** Every counted drop (per instance and not tied to one). */
function dropped(doc: StatusDocument): number {
  const sum = (o: Record<string, number>): number => Object.values(o).reduce((a, b) => a + b, 0);
  return sum(doc.dropped) + doc.instances.reduce((a, i) => a + sum(i.stats.dropped), 0);
}

describe('a flood of forged adverts (10 000/s for 10 s, spoofed sources)', { skip: netnsSkip() }, () => {
  let lan: Lan;
  let dir: string;
  let h1: VipdHost;
  let h2: VipdHost;
  let inj: Injector;
  let vip: string;

  const instance = (priority: number, state: 'MASTER' | 'BACKUP'): InstanceSpec => ({
    name: 'VI_1',
    state,
    vrid: 51,
    priority,
    authPass: 'flood123',
    vips: [`${vip}/24`],
  });

  before(async () => {
    lan = await Lan.create();
    dir = await mkdtemp(join(tmpdir(), 'vipd-flood-'));
    vip = lan.addr(100);
    h1 = await VipdHost.start(lan, 'h1', dir, vrrpConf({ routerId: 'h1', instances: [instance(150, 'MASTER')] }));
    await h1.waitForState('VI_1', 'MASTER');
    h2 = await VipdHost.start(lan, 'h2', dir, vrrpConf({ routerId: 'h2', instances: [instance(100, 'BACKUP')] }));
    await h2.waitForBackupOf('VI_1', lan.host('h1').ipv4);
    inj = await Injector.start(lan, 'client');
  });

  after(async () => {
    await inj?.stop();
    await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the pair does not move, the daemons stay up, memory and log stay bounded', async (t) => {
    const h1ip = lan.host('h1').ipv4;
    const src = lan.host('client').ipv4;
    const v = { vrid: 51, addresses: [vip] };
    // One of each check, round-robin; the agent rewrites the source of every packet.
    const frames = [
      hostileFrame({ src, vrrp: { ...v, priority: 254, password: 'wrong!!!' } }), // auth
      hostileFrame({ src, ttl: 64, vrrp: { ...v, priority: 254, password: 'flood123' } }), // ttl
      hostileFrame({ src, vrrp: { ...v, priority: 254, password: 'flood123', checksum: 'bad' } }), // checksum
      hostileFrame({ src, vrrp: { ...v, vrid: 52, priority: 254, password: 'flood123' } }), // vrid
      hostileFrame({ src, vrrp: { ...v, priority: 254, password: 'flood123', truncate: 10 } }), // length
      hostileFrame({ src, vrrp: { ...v, priority: 254, password: 'flood123', interval: 3 } }), // interval
      hostileFrame({ src, vrrp: { ...v, priority: 254, password: 'flood123', type: 2 } }), // type
    ];

    // The master's adverts as the backup sees them, and nothing else (the flood would swamp tcpdump).
    const capture: NsProcess = lan.spawn('h2', ['tcpdump', '-i', 'eth0', '-l', '-n', '-tt', '-U', `ip proto 112 and src host ${h1ip}`]);
    await capture.waitForLine(/listening on/, { stream: 'stderr', timeoutMs: 10_000 });

    const [d1, d2] = [await h1.status(), await h2.status()];
    const [s1, s2] = [await h1.instance('VI_1'), await h2.instance('VI_1')];
    const rssBefore = [await rssKb(d1.pid), await rssKb(d2.pid)];
    const warnMark = [h1.log.length, h2.log.length];

    const flooding = inj.flood(frames, { pps: PPS, durationMs: DURATION_MS, spoof: { base: '10.10.16.0', count: SPOOFED_SOURCES } });
    // vipctl keeps working during the flood: ask h1 a few times and time the answers.
    const latencies: number[] = [];
    await sleep(2000);
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const doc = (await request(h1.socket, 'status', 10_000)) as StatusDocument;
      latencies.push(performance.now() - t0);
      assert.equal(doc.instances[0]?.state, 'MASTER');
      await sleep(1000);
    }
    const flood: FloodResult = await flooding;
    const floodEnd = Date.now();
    await sleep(1500); // let the receive queues drain
    await capture.kill('SIGINT');

    const [e1, e2] = [await h1.status(), await h2.status()];
    const [a1, a2] = [await h1.instance('VI_1'), await h2.instance('VI_1')];
    const rssAfter = [await rssKb(e1.pid), await rssKb(e2.pid)];
    const processed = [dropped(e1) - dropped(d1), dropped(e2) - dropped(d2)];
    const seconds = flood.elapsedMs / 1000;

    // The master's rhythm during the flood, from the capture on the backup.
    const times = capture.stdout
      .map((l) => /^(\d+\.\d+) IP .* VRRPv2, Advertisement, vrid 51, prio 150/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]) * 1000)
      .filter((ms) => ms <= floodEnd);
    const gaps = times.slice(1).map((x, i) => x - (times[i] as number));
    const maxGap = Math.max(...gaps);
    const meanGap = gaps.reduce((a, b) => a + b, 0) / gaps.length;

    const warnsDuring = [h1.log.slice(warnMark[0]), h2.log.slice(warnMark[1])].map(
      (lines) => lines.filter((l) => / WARN /.test(l)).length,
    );
    const report = {
      injected: flood.sent,
      refusedBySender: flood.failed,
      injectedPps: Math.round(flood.sent / seconds),
      processedPps: processed.map((n) => Math.round(n / seconds)),
      processedShare: processed.map((n) => `${Math.round((100 * n) / flood.sent)}%`),
      rssKb: { before: rssBefore, after: rssAfter },
      masterAdverts: times.length,
      masterGapMs: { mean: Math.round(meanGap), max: Math.round(maxGap) },
      statusLatencyMs: latencies.map(Math.round),
      warnLines: warnsDuring,
    };
    t.diagnostic(JSON.stringify(report));

    // The flood went out at about the rate asked for (the sender is not the test's subject,
    // but a flood of 1 000 would prove nothing).
    assert.ok(flood.sent >= 0.7 * PPS * (DURATION_MS / 1000), `only ${flood.sent} packets left the injector`);
    // Both daemons alive, states as before, nobody else holds the VIP.
    assert.ok(h1.running && h2.running);
    assert.equal(a1.state, 'MASTER', h1.tail());
    assert.equal(a2.state, 'BACKUP', h2.tail());
    assert.deepEqual(a2.master, { address: h1ip, priority: 150 });
    assert.equal(a1.stats.releasedMaster, s1.stats.releasedMaster);
    assert.equal(a2.stats.becameMaster, s2.stats.becameMaster, 'the backup never took over');
    assert.deepEqual(await holders(lan, ['h1', 'h2'], vip), ['h1']);
    // Every packet a daemon read was counted under a reason (some may be lost in the
    // kernel's receive queue under the flood; most must have been read).
    for (const [i, n] of processed.entries()) {
      assert.ok(n <= flood.sent, `daemon ${i + 1} counted ${n} drops for ${flood.sent} packets`);
      assert.ok(n >= 0.5 * flood.sent, `daemon ${i + 1} read only ${n} of ${flood.sent} packets`);
    }
    assert.equal(a1.stats.priorityZeroRx, s1.stats.priorityZeroRx);
    // Memory: bounded growth.
    for (const i of [0, 1]) {
      const growth = (rssAfter[i] as number) - (rssBefore[i] as number);
      assert.ok(growth < RSS_BOUND_KB, `daemon ${i + 1} grew by ${growth} kB`);
    }
    // The MASTER kept sending about once a second; far from the backup's 3.6 s down interval.
    assert.ok(times.length >= Math.floor(seconds) - 2, `only ${times.length} master adverts in ${seconds} s`);
    assert.ok(maxGap < 2000, `a gap of ${Math.round(maxGap)} ms between master adverts`);
    // Log: warnings about peers are rate limited per reason and bounded across spoofed sources.
    for (const [i, n] of warnsDuring.entries()) assert.ok(n < 300, `daemon ${i + 1} wrote ${n} WARN lines during the flood`);
    // vipctl answered during the flood.
    assert.ok(latencies.every((ms) => ms < 5000), `status latencies ${latencies.join(', ')}`);
  });
});
