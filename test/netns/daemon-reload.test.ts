/**
 * Reloading a running pair (issue 4): an instance whose config did not change keeps
 * running through a reload — its VIP never leaves the kernel (watched with
 * `ip monitor address` on the master) and no gratuitous ARP is sent for it again
 * (captured on the client) — while an added instance starts. A broken file is refused
 * by `vipctl reload` (exit 1, compiler-style diagnostics) and by SIGHUP, and the daemon
 * keeps its state. With --watch, saving the file reloads it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lan, netnsSkip, type NsProcess } from '../helpers/netns.js';
import { startTcpdump } from '../helpers/ns-packets.js';
import {
  assertSoleHolder,
  masterDownMs,
  sleep,
  VIPCTL_BIN,
  VipdHost,
  vrrpConf,
  type InstanceSpec,
} from '../helpers/vipd.js';

const MARGIN_MS = 1500;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function vipctl(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [VIPCTL_BIN, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

const re = (ip: string): string => ip.replace(/\./g, '\\.');

describe('reload', { skip: netnsSkip() }, () => {
  let lan: Lan;
  let dir: string;
  let h1: VipdHost;
  let h2: VipdHost;
  let arp: NsProcess;
  let vip: string;
  let vip2: string;

  const vi1 = (priority: number, state: 'MASTER' | 'BACKUP'): InstanceSpec => ({
    name: 'VI_1',
    state,
    vrid: 51,
    priority,
    authPass: 'reload',
    vips: [`${vip}/24`],
  });
  const vi2: () => InstanceSpec = () => ({ name: 'VI_2', state: 'BACKUP', vrid: 52, priority: 100, vips: [`${vip2}/24`] });
  const h1Conf = (): string => vrrpConf({ routerId: 'lb01', instances: [vi1(150, 'MASTER')] });

  /** Gratuitous ARPs for ip from h1 (sender IP = target IP), as tcpdump -e -vv prints them. */
  const garps = (lines: readonly string[], ip: string): string[] =>
    lines.filter((l) =>
      new RegExp(`^\\S+ ${lan.host('h1').mac} > ff:ff:ff:ff:ff:ff, ethertype ARP .*Request who-has ${re(ip)} .*tell ${re(ip)},`).test(l),
    );

  before(async () => {
    lan = await Lan.create();
    dir = await mkdtemp(join(tmpdir(), 'vipd-reload-'));
    vip = lan.addr(100);
    vip2 = lan.addr(101);
    arp = await startTcpdump(lan, 'client', 'arp');
    h1 = await VipdHost.start(lan, 'h1', dir, h1Conf());
    await h1.waitForState('VI_1', 'MASTER');
    h2 = await VipdHost.start(lan, 'h2', dir, vrrpConf({ routerId: 'lb02', instances: [vi1(100, 'BACKUP')] }), { watch: true });
  });

  after(async () => {
    await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('reload with VI_1 unchanged: its VIP never leaves, no new GARP for it; the added VI_2 starts', async () => {
    const before1 = await h1.waitForState('VI_1', 'MASTER');
    await h2.waitForBackupOf('VI_1', lan.host('h1').ipv4);
    // Let the becoming-MASTER announcements finish: 5 GARPs, and 5 more garp_master_delay (5 s) later.
    const deadline = Date.now() + 15_000;
    while (garps(arp.stdout, vip).length < 10) {
      assert.ok(Date.now() < deadline, `the start-up GARPs were not seen:\n${arp.tail(30)}`);
      await sleep(200);
    }
    await sleep(500);
    const mark = arp.mark();
    const monitor = lan.spawn('h1', ['ip', '-o', 'monitor', 'address']);
    await sleep(300);
    // Proves the monitor prints deletions: a throw-away address comes and goes.
    const probe = lan.addr(250);
    await lan.exec('h1', ['ip', 'addr', 'add', `${probe}/32`, 'dev', 'eth0']);
    await lan.exec('h1', ['ip', 'addr', 'del', `${probe}/32`, 'dev', 'eth0']);
    await monitor.waitForLine(new RegExp(`^Deleted .*inet ${re(probe)}/32`), { timeoutMs: 5000 });

    // Same VI_1, new line numbers (comments on top), plus a new instance.
    await h1.writeConfig(
      vrrpConf({
        routerId: 'lb01',
        preamble: ['! reloaded: VI_1 is unchanged', '! VI_2 is new', ''],
        instances: [vi1(150, 'MASTER'), vi2()],
      }),
    );
    const r = await vipctl(['--socket', h1.socket, 'reload']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'reloaded: 1 kept (VI_1), 0 rebuilt, 1 added (VI_2), 0 removed');

    // VI_2 becomes MASTER after its down timer; the capture must show its GARPs (it is live).
    await h1.waitForState('VI_2', 'MASTER', masterDownMs(100) + 5000);
    await lan.waitForAddress('h1', vip2);
    const end = Date.now() + 10_000;
    while (garps(arp.stdout.slice(mark.stdout), vip2).length < 5) {
      assert.ok(Date.now() < end, `no GARP for the new VI_2:\n${arp.tail(30)}`);
      await sleep(200);
    }
    await sleep(MARGIN_MS);
    await monitor.kill('SIGINT');

    const deleted = monitor.stdout.filter((l) => new RegExp(`^Deleted .*inet ${re(vip)}/`).test(l));
    assert.deepEqual(deleted, [], 'the VIP of the unchanged VI_1 flapped');
    assert.deepEqual(garps(arp.stdout.slice(mark.stdout), vip), [], 'GARPs for the unchanged VI_1 after the reload');
    const after1 = await h1.instance('VI_1');
    assert.equal(after1.state, 'MASTER');
    assert.equal(after1.stats.becameMaster, before1.stats.becameMaster);
    assert.deepEqual(after1.lastTransition, before1.lastTransition);
    assert.ok(after1.stats.advertTx > before1.stats.advertTx);
    assert.equal((await h2.instance('VI_1')).state, 'BACKUP');
    await assertSoleHolder(lan, ['h1', 'h2'], vip, 'h1', 500);
    assert.ok(h1.log.some((l) => /reload done: 1 kept, 0 rebuilt, 1 added, 0 removed/.test(l)), h1.tail());
  });

  test('a broken file is refused by vipctl reload (exit 1) and by SIGHUP; the daemon keeps running as it was', async () => {
    const before1 = await h1.waitForState('VI_1', 'MASTER');
    const broken = h1Conf().replace(/}\s*$/, ''); // the instance's closing brace is missing
    await h1.writeConfig(broken);
    const r = await vipctl(['--socket', h1.socket, 'reload']);
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^${h1.confPath.replace(/[.]/g, '\\.')}:\\d+:\\d+: error: `, 'm'));
    assert.match(r.stderr, /refused, vipd keeps running the previous configuration/);
    assert.equal(r.stdout, '');

    const mark = h1.proc.mark();
    h1.signal('SIGHUP');
    await h1.proc.waitForLine(/reload refused/, { after: mark, timeoutMs: 10_000 });
    await sleep(500);
    assert.ok(h1.running, 'vipd exited after a broken reload');
    const doc = await h1.status();
    assert.deepEqual(doc.instances.map((i) => [i.name, i.state]), [['VI_1', 'MASTER'], ['VI_2', 'MASTER']]);
    const after1 = doc.instances.find((i) => i.name === 'VI_1');
    assert.deepEqual(after1?.lastTransition, before1.lastTransition);
    assert.ok(await lan.hasAddress('h1', vip));
    assert.ok(await lan.hasAddress('h1', vip2));

    // Fixed again: VI_2 is gone from the file, so the reload removes it and releases its VIP.
    await h1.writeConfig(h1Conf());
    const ok = await vipctl(['--socket', h1.socket, 'reload']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), 'reloaded: 1 kept (VI_1), 0 rebuilt, 0 added, 1 removed (VI_2)');
    await lan.waitForAddress('h1', vip2, { present: false, timeoutMs: 5000 });
    assert.ok(await lan.hasAddress('h1', vip));
  });

  test('--watch: saving the file reloads it (h2 raised to priority 200 takes over); a broken save is refused', async () => {
    await h1.waitForState('VI_1', 'MASTER');
    await h2.waitForState('VI_1', 'BACKUP');
    let mark = h2.proc.mark();
    await h2.writeConfig(vrrpConf({ routerId: 'lb02', instances: [vi1(200, 'BACKUP')] }));
    await h2.proc.waitForLine(/reload done: 0 kept, 1 rebuilt, 0 added, 0 removed/, { after: mark, timeoutMs: 10_000 });
    assert.ok(h2.log.slice(0).some((l) => /reloading .*\(config file changed\)/.test(l)), h2.tail());
    const m = await h2.waitForState('VI_1', 'MASTER', masterDownMs(200) + 5000);
    assert.equal(m.basePriority, 200);
    await h1.waitForState('VI_1', 'BACKUP', 5000);
    await lan.waitForAddress('h1', vip, { present: false, timeoutMs: 5000 });

    mark = h2.proc.mark();
    await h2.writeConfig('vrrp_instance VI_1 {\n  state BACKUP\n');
    await h2.proc.waitForLine(/reload refused/, { after: mark, timeoutMs: 10_000 });
    assert.ok(h2.running);
    assert.equal((await h2.instance('VI_1')).state, 'MASTER');
    assert.ok(await lan.hasAddress('h2', vip));
  });

  test('a reload that rebuilds the MASTER instance sends priority 0 first: the backup takes over at once', async () => {
    await h2.waitForState('VI_1', 'MASTER');
    const b = await h1.waitForBackupOf('VI_1', lan.host('h2').ipv4);
    // h2's only instance on eth0 is rebuilt (its socket closes and reopens), now below h1.
    const mark = h2.proc.mark();
    await h2.writeConfig(vrrpConf({ routerId: 'lb02', instances: [vi1(90, 'BACKUP')] }));
    await h2.proc.waitForLine(/reload done: 0 kept, 1 rebuilt/, { after: mark, timeoutMs: 10_000 });
    const m = await h1.waitForState('VI_1', 'MASTER', masterDownMs(150) + 5000);
    assert.equal(m.stats.priorityZeroRx, b.stats.priorityZeroRx + 1, `h1 never got h2's priority 0\n${h2.tail()}`);
    assert.match(m.lastTransition?.reason ?? '', /priority 0/);
    assert.ok(!h2.log.slice(mark.stderr).some((l) => /cannot send advert/.test(l)), h2.tail());
    await h2.waitForBackupOf('VI_1', lan.host('h1').ipv4, 5000);
  });
});
