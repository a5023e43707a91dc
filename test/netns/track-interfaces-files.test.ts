/**
 * track_interface, track_file and vrrp_sync_group between two vipd hosts (issue 5).
 * Each host runs three instances on eth0 and has two more interfaces to track (veth pairs):
 * - VI_1 (VIP .100) tracks trk0 (weight 0: down = FAULT) and a track_file (weight 1:
 *   the file's value is added to the priority);
 * - VI_2 (.101) and VI_3 (.102) form sync group G1; VI_3 tracks trk1, so trk1 going
 *   down takes both to FAULT and both VIPs to the other host. The group's `notify`
 *   gets `GROUP G1 <state> 0` and notify_fifo `GROUP "G1" <state> 0`, as in keepalived.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InstanceStatus } from '../../src/control/status.js';
import { Lan, netnsSkip, type NsProcess } from '../helpers/netns.js';
import {
  assertSoleHolder,
  installScript,
  masterDownMs,
  readLines,
  sleep,
  VipdHost,
  vrrpConf,
  waitUntil,
  type InstanceSpec,
} from '../helpers/vipd.js';

type Host = 'h1' | 'h2';
const INSTANCES = ['VI_1', 'VI_2', 'VI_3'] as const;

describe('track_interface, track_file and sync groups move VIPs', { skip: netnsSkip() }, () => {
  let lan: Lan;
  let dir: string;
  const vip = (n: 1 | 2 | 3): string => lan.addr(99 + n);
  const vipd = new Map<Host, VipdHost>();
  const fifo = new Map<Host, NsProcess>();
  const file = (host: Host, what: string): string => join(dir, `${host}.${what}`);
  const h = (host: Host): VipdHost => vipd.get(host) as VipdHost;

  const conf = (host: Host, state: 'MASTER' | 'BACKUP', priority: number, notifyLog: string): string => {
    const inst = (n: 1 | 2 | 3, extra: string[]): InstanceSpec => ({ name: `VI_${n}`, state, vrid: 50 + n, priority, vips: [`${vip(n)}/24`], extra });
    return vrrpConf({
      routerId: host,
      preamble: [
        'track_file tf {',
        `    file "${file(host, 'track')}"`,
        '    weight 1',
        '}',
        '',
        'vrrp_sync_group G1 {',
        '    group {',
        '        VI_2',
        '        VI_3',
        '    }',
        `    notify "${notifyLog} ${file(host, 'group')} notify"`,
        '}',
        '',
      ],
      instances: [
        inst(1, ['track_interface {', '    trk0', '}', 'track_file {', '    tf', '}']),
        inst(2, []),
        inst(3, ['track_interface {', '    trk1', '}']),
      ],
    }).replace(
      `router_id ${host}\n`,
      `router_id ${host}\n    script_user root\n    enable_script_security\n    notify_fifo ${file(host, 'fifo')}\n`,
    );
  };

  const states = async (host: Host): Promise<Record<string, InstanceStatus['state']>> => {
    const doc = await h(host).status();
    return Object.fromEntries(doc.instances.map((i) => [i.name, i.state]));
  };

  const waitStates = async (host: Host, want: Record<string, InstanceStatus['state']>, timeoutMs: number): Promise<void> => {
    let last: Record<string, string> = {};
    await waitUntil(
      async () => {
        const now = (last = await states(host));
        return Object.entries(want).every(([n, s]) => now[n] === s);
      },
      `${host} in ${JSON.stringify(want)}`,
      timeoutMs,
      () => `${JSON.stringify(last)}\n${h(host).tail()}`,
    );
  };

  /** The group's notify lines and FIFO lines so far, as `<state> <priority>`. */
  const groupNotified = async (host: Host): Promise<{ notify: string[]; fifo: string[] }> => ({
    notify: (await readLines(file(host, 'group'))).map((l) => l.replace(/^notify GROUP G1 /, '')),
    fifo: (fifo.get(host)?.stdout ?? []).filter((l) => l.startsWith('GROUP ')).map((l) => l.replace(/^GROUP "G1" /, '')),
  });

  const groupSettled = async (host: Host, want: string[]): Promise<void> => {
    let last = await groupNotified(host);
    await waitUntil(
      async () => JSON.stringify((last = await groupNotified(host))) === JSON.stringify({ notify: want, fifo: want }),
      `${host}: group notifications ${want.join(', ')}`,
      10_000,
      () => JSON.stringify(last),
    );
    await sleep(500);
    assert.deepEqual(await groupNotified(host), { notify: want, fifo: want }, `${host}: a late or doubled group notification`);
  };

  before(async () => {
    lan = await Lan.create();
    dir = await mkdtemp(join(tmpdir(), 'vipd-track-if-'));
    const notifyLog = await installScript(dir, 'notify-log.sh');
    for (const host of ['h1', 'h2'] as const) {
      for (const ifname of ['trk0', 'trk1']) {
        // A veth pair inside the host (CI kernels may lack the dummy module); both ends up = carrier.
        await lan.exec(host, ['ip', 'link', 'add', ifname, 'type', 'veth', 'peer', 'name', `${ifname}p`]);
        await lan.exec(host, ['ip', 'link', 'set', `${ifname}p`, 'up']);
        await lan.exec(host, ['ip', 'link', 'set', ifname, 'up']);
      }
      await writeFile(file(host, 'track'), '0\n');
    }
    for (const [host, state, priority] of [['h1', 'MASTER', 150], ['h2', 'BACKUP', 100]] as const) {
      const v = await VipdHost.start(lan, host, dir, conf(host, state, priority, notifyLog));
      vipd.set(host, v);
      fifo.set(host, lan.spawn(host, ['cat', file(host, 'fifo')]));
      if (host === 'h1') await waitStates('h1', { VI_1: 'MASTER', VI_2: 'MASTER', VI_3: 'MASTER' }, masterDownMs(150) + 10_000);
    }
    for (const n of INSTANCES) await h('h2').waitForBackupOf(n, lan.host('h1').ipv4);
  });

  after(async () => {
    await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('start-up: h1 holds every VIP; the group announced BACKUP then MASTER (h1), BACKUP (h2)', async () => {
    for (const n of [1, 2, 3] as const) await assertSoleHolder(lan, ['h1', 'h2'], vip(n), 'h1', 300);
    const i1 = await h('h1').instance('VI_1');
    assert.deepEqual(
      i1.trackers.map((t) => [t.kind, t.name, t.status, t.weight]),
      [['interface', 'trk0', 'UP', 0], ['file', 'tf', '0', 1]],
    );
    await groupSettled('h1', ['BACKUP 0', 'MASTER 0']);
    await groupSettled('h2', ['BACKUP 0']);
  });

  test('track_interface: trk0 down puts VI_1 in FAULT and its VIP moves; up brings it back', async (t) => {
    const t0 = performance.now();
    await lan.linkDown('h1', 'trk0');
    const f = await h('h1').waitForState('VI_1', 'FAULT', 5000);
    assert.ok(f.faultReasons.some((r) => /trk0/.test(r)), JSON.stringify(f.faultReasons));
    assert.deepEqual(f.trackers.find((x) => x.name === 'trk0')?.status, 'DOWN');
    await h('h2').waitForState('VI_1', 'MASTER', masterDownMs(100) + 5000);
    await lan.waitForAddress('h2', vip(1));
    t.diagnostic(`VIP .100 on h2 ${(performance.now() - t0).toFixed(0)} ms after trk0 went down`);
    await assertSoleHolder(lan, ['h1', 'h2'], vip(1), 'h2', 1000);
    // The other instances track nothing that changed.
    assert.deepEqual(await states('h1'), { VI_1: 'FAULT', VI_2: 'MASTER', VI_3: 'MASTER' });
    for (const n of [2, 3] as const) assert.deepEqual(await lan.hasAddress('h1', vip(n)), true);

    await lan.linkUp('h1', 'trk0');
    await h('h1').waitForState('VI_1', 'MASTER', masterDownMs(150) + 10_000);
    await h('h2').waitForBackupOf('VI_1', lan.host('h1').ipv4);
    await lan.waitForAddress('h2', vip(1), { present: false, timeoutMs: 5000 });
    await assertSoleHolder(lan, ['h1', 'h2'], vip(1), 'h1', 500);
  });

  test('track_file: a value of -60 takes VI_1 to 90 < 100 and its VIP moves; 0 brings it back', async () => {
    await writeFile(file('h1', 'track'), '-60\n');
    const b = await h('h1').waitFor('VI_1', (i) => i.effectivePriority === 90, 'at priority 90', 10_000);
    assert.equal(b.trackers.find((x) => x.kind === 'file')?.status, '-60');
    assert.deepEqual(b.faultReasons, []);
    await h('h2').waitForState('VI_1', 'MASTER', masterDownMs(100) + 5000);
    await h('h1').waitForBackupOf('VI_1', lan.host('h2').ipv4, 5000);
    await lan.waitForAddress('h1', vip(1), { present: false, timeoutMs: 5000 });
    await assertSoleHolder(lan, ['h1', 'h2'], vip(1), 'h2', 1000);
    assert.deepEqual(await states('h1'), { VI_1: 'BACKUP', VI_2: 'MASTER', VI_3: 'MASTER' });

    await writeFile(file('h1', 'track'), '0\n');
    await h('h1').waitFor('VI_1', (i) => i.effectivePriority === 150 && i.state === 'MASTER', 'MASTER at 150', masterDownMs(150) + 10_000);
    await h('h2').waitForBackupOf('VI_1', lan.host('h1').ipv4);
    await lan.waitForAddress('h2', vip(1), { present: false, timeoutMs: 5000 });
    // keepalived announces the effective priority: BACKUP 90, not 150.
    const vi1Lines = (): string[] => (fifo.get('h1')?.stdout ?? []).filter((l) => l.startsWith('INSTANCE "VI_1" '));
    const want = ['BACKUP 150', 'MASTER 150', 'FAULT 150', 'BACKUP 150', 'MASTER 150', 'BACKUP 90', 'MASTER 150'].map((x) => `INSTANCE "VI_1" ${x}`);
    await waitUntil(() => vi1Lines().length >= want.length, 'the FIFO lines of VI_1', 5000, () => vi1Lines().join('\n'));
    assert.deepEqual(vi1Lines(), want);
  });

  test('sync group: trk1 down on h1 faults VI_3, VI_2 follows, both VIPs move together; GROUP notifies', async (t) => {
    await lan.linkDown('h1', 'trk1');
    await waitStates('h1', { VI_2: 'FAULT', VI_3: 'FAULT' }, 5000);
    await waitStates('h2', { VI_2: 'MASTER', VI_3: 'MASTER' }, masterDownMs(100) + 5000);
    const v2 = await h('h1').instance('VI_2');
    t.diagnostic(`VI_2 fault reasons: ${JSON.stringify(v2.faultReasons)}`);
    assert.ok(v2.faultReasons.some((r) => /VI_3/.test(r)), `VI_2 is in FAULT because of VI_3: ${JSON.stringify(v2.faultReasons)}`);
    for (const n of [2, 3] as const) await lan.waitForAddress('h2', vip(n));
    for (const n of [2, 3] as const) await assertSoleHolder(lan, ['h1', 'h2'], vip(n), 'h2', 500);
    assert.equal((await states('h1'))['VI_1'], 'MASTER', 'VI_1 is not in the group');
    await groupSettled('h1', ['BACKUP 0', 'MASTER 0', 'FAULT 0']);
    await groupSettled('h2', ['BACKUP 0', 'MASTER 0']);

    await lan.linkUp('h1', 'trk1');
    await waitStates('h1', { VI_2: 'MASTER', VI_3: 'MASTER' }, masterDownMs(150) + 10_000);
    await waitStates('h2', { VI_2: 'BACKUP', VI_3: 'BACKUP' }, 5000);
    for (const n of [2, 3] as const) await lan.waitForAddress('h2', vip(n), { present: false, timeoutMs: 5000 });
    await groupSettled('h1', ['BACKUP 0', 'MASTER 0', 'FAULT 0', 'BACKUP 0', 'MASTER 0']);
    await groupSettled('h2', ['BACKUP 0', 'MASTER 0', 'BACKUP 0']);
  });
});
