/**
 * Issue 7: a third host on the LAN sends malformed and forged VRRP at a healthy vipd pair
 * (h1 MASTER 150, h2 BACKUP 100, VRRPv2 with PASS). For each kind of packet: the states
 * stay what RFC 3768 says, both daemons stay up, and the drop reason in `vipctl stats`
 * counts exactly the packets sent. The forgeries that VRRP lets win (priority 0, a higher
 * priority with the right password) are shown to win, and the pair recovers after them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InstanceStatus, StatusDocument } from '../../src/control/status.js';
import { hostileFrame, Injector, type FrameOptions, type VrrpFields } from '../helpers/injector.js';
import { Lan, netnsSkip } from '../helpers/netns.js';
import { holders, sleep, vipctl, VipdHost, vrrpConf, waitUntil, type InstanceSpec } from '../helpers/vipd.js';

const PASSWORD = 'hostile1';
const VRID = 51;

type Counts = Record<string, number>;

interface Snapshot {
  readonly doc: StatusDocument;
  readonly vi: InstanceStatus;
}

/** Non-zero differences between two counter maps. */
function delta(after: Counts, before: Counts): Counts {
  const out: Counts = {};
  for (const k of new Set([...Object.keys(after), ...Object.keys(before)])) {
    const d = (after[k] ?? 0) - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

describe('hostile packets from a third host against a vipd pair', { skip: netnsSkip() }, () => {
  let lan: Lan;
  let dir: string;
  let h1: VipdHost;
  let h2: VipdHost;
  let inj: Injector;
  let vip: string;
  let h1ip: string;
  let attacker: string;

  const instance = (priority: number, state: 'MASTER' | 'BACKUP'): InstanceSpec => ({
    name: 'VI_1',
    state,
    vrid: VRID,
    priority,
    authPass: PASSWORD,
    vips: [`${vip}/24`],
  });

  /** An advert from the attacker as a correct peer would send it, with `vrrp` overriding fields. */
  const frame = (vrrp: Partial<VrrpFields> = {}, ip: Partial<Omit<FrameOptions, 'vrrp'>> = {}): Buffer =>
    hostileFrame({
      src: attacker,
      ...ip,
      vrrp: { vrid: VRID, priority: 254, addresses: [vip], password: PASSWORD, ...vrrp },
    });

  const snapshot = async (h: VipdHost): Promise<Snapshot> => {
    const doc = await h.status();
    const vi = doc.instances.find((i) => i.name === 'VI_1');
    assert.ok(vi, `${h.host}: no VI_1`);
    return { doc, vi };
  };

  /** Both daemons running, h1 MASTER holding the VIP alone, h2 BACKUP following h1. */
  const assertHealthy = async (): Promise<void> => {
    assert.ok(h1.running && h2.running, 'both daemons are still running');
    const [a, b] = [await h1.instance('VI_1'), await h2.instance('VI_1')];
    assert.equal(a.state, 'MASTER', h1.tail());
    assert.equal(b.state, 'BACKUP', h2.tail());
    assert.deepEqual(b.master, { address: h1ip, priority: 150 });
    assert.deepEqual(await holders(lan, ['h1', 'h2', 'client'], vip), ['h1']);
  };

  /**
   * Sends `frames` and waits until each daemon's counters moved by exactly `perInstance`
   * (stats.dropped of VI_1) and `global` (the top-level dropped, packets tied to no instance);
   * then checks that nothing else was counted and nothing changed state.
   */
  const expectDropped = async (
    frames: readonly Buffer[],
    expected: { perInstance: Counts; global?: Counts; only?: 'h1' | 'h2' },
  ): Promise<void> => {
    const hosts = expected.only === undefined ? [h1, h2] : [expected.only === 'h1' ? h1 : h2];
    const before = await Promise.all(hosts.map(snapshot));
    const tx = (await h1.instance('VI_1')).stats;
    const t0 = performance.now();
    assert.equal(await inj.send(frames, 20), frames.length);
    let after: Snapshot[] = before;
    const reached = (): boolean =>
      after.every((s, i) => {
        const b = before[i] as Snapshot;
        return isDeepEqual(delta(s.vi.stats.dropped, b.vi.stats.dropped), expected.perInstance) &&
          isDeepEqual(delta(s.doc.dropped, b.doc.dropped), expected.global ?? {});
      });
    await waitUntil(
      async () => {
        after = await Promise.all(hosts.map(snapshot));
        return reached();
      },
      'counted as expected',
      5000,
      () => JSON.stringify(after.map((s, i) => ({
        host: hosts[i]?.host,
        perInstance: delta(s.vi.stats.dropped, (before[i] as Snapshot).vi.stats.dropped),
        global: delta(s.doc.dropped, (before[i] as Snapshot).doc.dropped),
      }))),
    ).catch((err: Error) => assert.fail(err.message));
    // A second look after a while: late packets must not add more (exact counts, not "at least").
    await sleep(300);
    after = await Promise.all(hosts.map(snapshot));
    assert.ok(reached(), 'the counters moved further after settling');
    for (const [i, s] of after.entries()) {
      const b = before[i] as Snapshot;
      assert.equal(s.vi.stats.priorityZeroRx, b.vi.stats.priorityZeroRx, 'no dropped advert counts as received');
      assert.equal(s.vi.stats.becameMaster, b.vi.stats.becameMaster);
      assert.equal(s.vi.stats.releasedMaster, b.vi.stats.releasedMaster);
    }
    // A MASTER answers a lower-priority *valid* advert at once; dropped ones get no answer
    // beyond its usual one per second.
    const txAfter = (await h1.instance('VI_1')).stats;
    const elapsedS = (performance.now() - t0) / 1000;
    assert.ok(txAfter.advertTx - tx.advertTx <= Math.ceil(elapsedS) + 1, `h1 sent ${txAfter.advertTx - tx.advertTx} adverts in ${elapsedS} s`);
    await assertHealthy();
  };

  const isDeepEqual = (a: unknown, b: unknown): boolean => JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
  const sorted = (o: unknown): unknown =>
    o !== null && typeof o === 'object' ? Object.fromEntries(Object.entries(o).sort(([x], [y]) => x.localeCompare(y))) : o;

  before(async () => {
    lan = await Lan.create();
    dir = await mkdtemp(join(tmpdir(), 'vipd-hostile-'));
    vip = lan.addr(100);
    h1ip = lan.host('h1').ipv4;
    attacker = lan.host('client').ipv4;
    h1 = await VipdHost.start(lan, 'h1', dir, vrrpConf({ routerId: 'h1', instances: [instance(150, 'MASTER')] }));
    await h1.waitForState('VI_1', 'MASTER');
    h2 = await VipdHost.start(lan, 'h2', dir, vrrpConf({ routerId: 'h2', instances: [instance(100, 'BACKUP')] }));
    await h2.waitForBackupOf('VI_1', h1ip);
    inj = await Injector.start(lan, 'client');
  });

  after(async () => {
    await inj?.stop();
    await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a well-formed advert from the injector is accepted (the injector itself is right)', async () => {
    // Priority 1 as a second master: h2 follows h1 still (lower priority), h1 answers at once.
    const before = (await h2.instance('VI_1')).stats.advertRx;
    await inj.send([frame({ priority: 1 })]);
    await h2.waitFor('VI_1', (i) => i.stats.advertRx > before, 'advertRx counted');
    // h2 notes the lower master for a moment (RFC 3768 §6.4.2 discards it); h1's answer follows at once.
    await h2.waitForBackupOf('VI_1', h1ip, 5000);
    await assertHealthy();
  });

  test('wrong TTL (RFC 3768 §7.1: must be 255) is dropped as "ttl"', async () => {
    await expectDropped([1, 64, 254].map((ttl) => frame({}, { ttl })), { perInstance: { ttl: 3 } });
  });

  test('a bad VRRP checksum is dropped as "checksum"', async () => {
    await expectDropped([frame({ checksum: 'bad' }), frame({ checksum: 'bad', priority: 255 })], { perInstance: { checksum: 2 } });
  });

  test('versions 0, 1, 4 and 15 are dropped as "version"; so is VRRPv3 at a v2 instance', async () => {
    const frames = [0, 1, 4, 15].map((version) => frame({ version }));
    frames.push(frame({ version: 3, interval: 100 }));
    await expectDropped(frames, { perInstance: { version: 5 } });
  });

  test('types 0, 2, 3 and 15 are dropped as "type" (RFC 3768 §5.3.2)', async () => {
    await expectDropped([0, 2, 3, 15].map((type) => frame({ type })), { perInstance: { type: 4 } });
  });

  test('the advert truncated at every length is dropped as "length"', async () => {
    const full = frame().length - 14 - 20; // 8 + 4 + 8
    assert.equal(full, 20);
    const frames = Array.from({ length: full }, (_, n) => frame({ truncate: n }));
    // Cut before the VRID byte, a packet cannot be tied to an instance: counted at the top level.
    await expectDropped(frames, { perInstance: { length: full - 2 }, global: { length: 2 } });
  });

  test('an address count larger than the payload is "length"; smaller is "addressCount"', async () => {
    await expectDropped(
      [frame({ count: 2 }), frame({ count: 5 }), frame({ count: 255 }), frame({ count: 0 })],
      { perInstance: { length: 3, addressCount: 1 } },
    );
  });

  test('wrong password, no authentication, AH and an unknown auth type are dropped as "auth"', async () => {
    await expectDropped(
      [
        frame({ password: 'hostile2', priority: 255 }),
        hostileFrame({ src: attacker, vrrp: { vrid: VRID, priority: 254, addresses: [vip] } }),
        frame({ authType: 2 }),
        frame({ authType: 7 }),
      ],
      { perInstance: { auth: 4 } },
    );
  });

  test('an unknown VRID is counted at the top level as "vrid"', async () => {
    await expectDropped([frame({ vrid: 52 }), frame({ vrid: 255 }), frame({ vrid: 0 })], { perInstance: {}, global: { vrid: 3 } });
  });

  test('an advert interval other than ours (v2) is dropped as "interval"', async () => {
    await expectDropped([0, 2, 255].map((interval) => frame({ interval })), { perInstance: { interval: 3 } });
  });

  test('an advert IP-addressed to the backup alone is dropped as "destination" (keepalived does too)', async () => {
    const h2host = lan.host('h2');
    await expectDropped(
      [frame({ priority: 0 }, { dst: h2host.ipv4, dstMac: h2host.mac }), frame({ priority: 255 }, { dst: h2host.ipv4, dstMac: h2host.mac })],
      { perInstance: { destination: 2 }, only: 'h2' },
    );
  });

  test('priority 0 from a non-master (RFC 3768 §6.4.3): the MASTER answers each at once, the backup stays', async (t) => {
    const [a0, b0] = [(await h1.instance('VI_1')).stats, (await h2.instance('VI_1')).stats];
    const n = 4;
    assert.equal(await inj.send(Array.from({ length: n }, () => frame({ priority: 0 })), 150), n);
    await h1.waitFor('VI_1', (i) => i.stats.priorityZeroRx === a0.priorityZeroRx + n, `${n} priority-0 adverts received`, 5000);
    await h2.waitFor('VI_1', (i) => i.stats.priorityZeroRx === b0.priorityZeroRx + n, `${n} priority-0 adverts received`, 5000);
    const [a1, b1] = [(await h1.instance('VI_1')).stats, (await h2.instance('VI_1')).stats];
    // n answers in ~0.6 s, where the normal schedule would give at most one or two.
    assert.ok(a1.advertTx - a0.advertTx >= n, `h1 sent ${a1.advertTx - a0.advertTx} adverts for ${n} priority-0 adverts`);
    t.diagnostic(`h1 sent ${a1.advertTx - a0.advertTx} adverts while ${n} forged priority-0 adverts arrived 150 ms apart`);
    // The backup set its down timer to Skew_Time (§6.4.2), but the master's answer came
    // first and reset it: no takeover.
    assert.equal(b1.becameMaster, b0.becameMaster, h2.tail());
    await assertHealthy();
  });

  test('priority 0 aimed at the backup alone (Ethernet unicast): it takes over early, then yields to the master', async (t) => {
    const [a0, b0] = [(await h1.instance('VI_1')).stats, (await h2.instance('VI_1')).stats];
    // Multicast IP in a frame for h2's MAC only: the IP layer accepts it, h1 never sees it.
    const t0 = performance.now();
    await inj.send([frame({ priority: 0 }, { dstMac: lan.host('h2').mac })]);
    await h2.waitFor('VI_1', (i) => i.stats.becameMaster === b0.becameMaster + 1, 'MASTER once', 5000);
    const tookOver = performance.now() - t0;
    await h2.waitFor('VI_1', (i) => i.state === 'BACKUP' && i.stats.releasedMaster === b0.releasedMaster + 1, 'BACKUP again', 5000);
    await h2.waitForBackupOf('VI_1', h1ip, 5000);
    t.diagnostic(`h2 became MASTER ${Math.round(tookOver)} ms after the forged priority-0 advert (Skew_Time is 609 ms), then yielded`);
    // Skew_Time for priority 100 is 0.61 s, well before its 3.6 s Master_Down_Interval.
    assert.ok(tookOver < 3000, `took over after ${Math.round(tookOver)} ms`);
    const a1 = (await h1.instance('VI_1')).stats;
    assert.equal(a1.releasedMaster, a0.releasedMaster, 'h1 never left MASTER');
    assert.equal(a1.priorityZeroRx, a0.priorityZeroRx, 'h1 never saw the forged advert');
    await waitUntil(async () => (await holders(lan, ['h1', 'h2'], vip)).join() === 'h1', 'VIP back on h1 alone', 5000);
    await assertHealthy();
  });

  test('priority 255 with the right password from a host that owns no VIP wins; the pair recovers when it stops', async (t) => {
    const b0 = (await h1.instance('VI_1')).stats;
    // RFC 3768 §6.4.3: a higher priority wins; nothing ties priority 255 to owning the address.
    const forged = Array.from({ length: 20 }, () => frame({ priority: 255 }));
    const sending = inj.send(forged, 200);
    await h1.waitFor('VI_1', (i) => i.state === 'BACKUP' && i.master?.address === attacker && i.master.priority === 255, 'BACKUP of the forger', 5000);
    await h2.waitFor('VI_1', (i) => i.state === 'BACKUP' && i.master?.address === attacker, 'BACKUP of the forger', 5000);
    await waitUntil(async () => (await holders(lan, ['h1', 'h2'], vip)).length === 0, 'the VIP released by both', 5000);
    t.diagnostic('while the forger advertises, nobody of the pair holds the VIP');
    await sending;
    const stopped = performance.now();
    // h1's down timer (3 s + 0.41 s skew) runs out first; it takes the VIP back.
    await h1.waitForState('VI_1', 'MASTER', 10_000);
    t.diagnostic(`h1 MASTER again ${Math.round(performance.now() - stopped)} ms after the last forged advert`);
    await h2.waitForBackupOf('VI_1', h1ip, 10_000);
    assert.equal((await h1.instance('VI_1')).stats.releasedMaster, b0.releasedMaster + 1);
    await waitUntil(async () => (await holders(lan, ['h1', 'h2'], vip)).join() === 'h1', 'VIP back on h1', 5000);
    await assertHealthy();
  });

  test('vipctl stats shows the counters of every reason above', async () => {
    const r = await vipctl(['--socket', h2.socket, 'stats', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as StatusDocument;
    const d = doc.instances[0]?.stats.dropped ?? {};
    for (const k of ['ttl', 'checksum', 'version', 'type', 'length', 'addressCount', 'auth', 'interval', 'destination']) {
      assert.ok((d[k] ?? 0) > 0, `stats.dropped.${k} = ${d[k]}`);
    }
    assert.ok((doc.dropped['vrid'] ?? 0) >= 3 && (doc.dropped['length'] ?? 0) >= 2, JSON.stringify(doc.dropped));
    const human = await vipctl(['--socket', h2.socket, 'stats']);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /destination/);
  });
});
