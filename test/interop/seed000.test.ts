/**
 * The seed 000 pair (nginx master/backup, test/fixtures/configs/seeds/seed000-*.conf) run
 * unchanged but for the interface name, the addresses and the health script's path:
 * once as two keepalived, once as two vipd, each on its own LAN, side by side. The same
 * steps are applied to both runs and what an operator can observe after each step —
 * which host is MASTER, which host holds the VIP — is recorded; the two records must be
 * identical, and every takeover must stay within the protocol's bound.
 *
 * The seed's chk_nginx.sh is replaced by a script that notes each run in a file and
 * exits 0 — or 1 while a flag file exists, which stands for "nginx is down": after
 * `fall 2` failures the master's priority drops by 5 (101 → 96, below the backup's 99), the
 * backup takes over, and after `rise 1` success the master preempts again.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lan, netnsSkip, requireRoot } from '../helpers/netns.js';
import {
  KeepalivedPeer,
  VipdPeer,
  MARGIN_MS,
  masterDownIntervalMs,
  skewTimeMs,
  startPeer,
  stopAll,
  vipHolders,
  waitForHolders,
  type Impl,
  type Peer,
} from '../helpers/interop.js';
import { REPO_ROOT, sleep, timeUntilAddress } from '../helpers/vipd.js';

const SEEDS = join(REPO_ROOT, 'test', 'fixtures', 'configs', 'seeds');
const MASTER_PRIO = 101;
const BACKUP_PRIO = 99;
const HOSTS = ['h1', 'h2'] as const;

interface Observation {
  readonly step: string;
  readonly h1: string;
  readonly h2: string;
  readonly vip: readonly string[];
  /** The master host's effective priority, where the step is about it. */
  readonly h1Priority?: number;
}

interface Run {
  readonly impl: Impl;
  lan: Lan;
  dir: string;
  master?: Peer;
  backup?: Peer;
  readonly record: Observation[];
  readonly timings: string[];
}

describe('seed 000 (nginx master/backup): two keepalived and two vipd behave the same', { skip: netnsSkip() }, () => {
  const runs: Run[] = (['keepalived', 'vipd'] as const).map((impl) => ({
    impl,
    lan: undefined as unknown as Lan,
    dir: '',
    record: [],
    timings: [],
  }));

  before(async () => {
    await Promise.all(
      runs.map(async (r, i) => {
        r.lan = await Lan.create({ hosts: [...HOSTS], subnet: `10.20.${i + 1}`, subnet6: `fd00:20:20:${i + 1}` });
        r.dir = await mkdtemp(join(tmpdir(), `vipd-interop-seed000-${r.impl}-`));
      }),
    );
  });

  after(async () => {
    for (const r of runs) {
      await stopAll([r.master, r.backup]);
      await r.lan?.destroy();
      if (r.dir) await rm(r.dir, { recursive: true, force: true });
    }
  });

  /** The seed file on this LAN: ens33 → eth0, 192.168.64.129/.130 → h1/h2, .128 → the VIP. */
  async function seed(r: Run, file: string, host: 'h1' | 'h2'): Promise<string> {
    const script = join(r.dir, `${host}-chk_nginx.sh`);
    await writeFile(script, `#!/bin/sh\necho run >> "${script}.runs"\n[ -e "${script}.fail" ] && exit 1\nexit 0\n`);
    await chmod(script, 0o755);
    const text = (await readFile(join(SEEDS, file), 'utf8'))
      .replace(/\bens33\b/g, 'eth0')
      .replace(/192\.168\.64\.129\b/g, r.lan.host('h1').ipv4)
      .replace(/192\.168\.64\.130\b/g, r.lan.host('h2').ipv4)
      .replace(/192\.168\.64\.128\b/g, vipOf(r))
      .replace('/root/software/chk_nginx.sh', script);
    assert.doesNotMatch(text, /192\.168\.|ens33|\/root\/software/, `${file}: something was not adapted`);
    return text;
  }

  const vipOf = (r: Run): string => r.lan.addr(128);

  async function observe(r: Run, step: string, withPriority = false): Promise<void> {
    const [s1, s2, holders] = await Promise.all([
      r.master?.running ? r.master.state('VI_1') : 'stopped',
      r.backup?.running ? r.backup.state('VI_1') : 'stopped',
      vipHolders(r.lan, HOSTS, vipOf(r)),
    ]);
    r.record.push({ step, h1: s1, h2: s2, vip: holders, ...(withPriority ? { h1Priority: await masterPriority(r) } : {}) });
  }

  async function masterPriority(r: Run): Promise<number> {
    const m = r.master;
    if (m instanceof VipdPeer) return (await m.vipd.instance('VI_1')).effectivePriority;
    if (m instanceof KeepalivedPeer) return m.ka.effectivePriority('VI_1', MASTER_PRIO);
    throw new Error('no master peer');
  }

  /** The seed's steps; each waits for the outcome it expects, then records what is observable. */
  async function play(r: Run): Promise<void> {
    const { lan, dir, impl } = r;
    const vip = vipOf(r);
    const timing = (what: string, took: number, bound: number): void => {
      r.timings.push(`${what}: ${took.toFixed(0)} ms (bound ${bound.toFixed(0)} ms)`);
      assert.ok(took <= bound, `${impl}: ${what} took ${took.toFixed(0)} ms, bound ${bound.toFixed(0)} ms`);
    };
    const backupDown = masterDownIntervalMs(2, BACKUP_PRIO, 1);
    const masterDown = masterDownIntervalMs(2, MASTER_PRIO, 1);

    // 1. The master host is started, then the backup host.
    r.master = await startPeer(impl, lan, 'h1', dir, await seed(r, 'seed000-master.conf', 'h1'));
    await r.master.waitForState('VI_1', 'MASTER', masterDown + MARGIN_MS + 10_000);
    r.backup = await startPeer(impl, lan, 'h2', dir, await seed(r, 'seed000-backup.conf', 'h2'));
    await r.backup.waitForState('VI_1', 'BACKUP', 15_000);
    await sleep(backupDown + 1000);
    await observe(r, 'both started');

    // 2. The master is stopped (systemctl stop: SIGTERM, priority 0).
    let t0 = performance.now();
    const stopped = r.master.stop();
    timing('takeover after SIGTERM', await timeUntilAddress(lan, 'h2', vip, t0, 10_000), skewTimeMs(2, BACKUP_PRIO, 1) + MARGIN_MS);
    await stopped;
    await r.backup.waitForState('VI_1', 'MASTER', 2000);
    await sleep(1000);
    await observe(r, 'master stopped');

    // 3. The master comes back and preempts.
    await r.master.restart();
    await r.master.waitForState('VI_1', 'MASTER', masterDown + MARGIN_MS + 5000);
    await r.backup.waitForState('VI_1', 'BACKUP', 5000);
    await waitForHolders(lan, HOSTS, vip, ['h1'], 5000);
    await sleep(1000);
    await observe(r, 'master restarted');

    // 4. The master crashes (SIGKILL: no priority 0, its VIP stays behind).
    t0 = performance.now();
    const crashed = r.master.crash();
    timing('takeover after SIGKILL', await timeUntilAddress(lan, 'h2', vip, t0, backupDown + 10_000), backupDown + MARGIN_MS);
    await crashed;
    await r.backup.waitForState('VI_1', 'MASTER', 2000);
    await observe(r, 'master crashed');

    // 5. The master comes back: it clears the stale VIP and preempts.
    await r.master.restart();
    await r.master.waitForState('VI_1', 'MASTER', masterDown + MARGIN_MS + 5000);
    await r.backup.waitForState('VI_1', 'BACKUP', 5000);
    await waitForHolders(lan, HOSTS, vip, ['h1'], 5000);
    await sleep(1000);
    await observe(r, 'master restarted after crash');

    // 6. The backup is stopped: nothing moves.
    await r.backup.stop();
    await sleep(backupDown);
    await observe(r, 'backup stopped');

    // 7. The backup comes back and stays BACKUP.
    await r.backup.restart();
    await r.backup.waitForState('VI_1', 'BACKUP', 15_000);
    await sleep(backupDown + 1000);
    await observe(r, 'backup restarted');

    // 8. nginx dies on the master: chk_nginx.sh fails (fall 2 × interval 2 s), 101 − 5 < 99.
    const flag = join(dir, 'h1-chk_nginx.sh.fail');
    await writeFile(flag, '');
    t0 = performance.now();
    // Up to fall × interval to notice, then the backup's Master_Down_Interval (it no longer
    // accepts the master's lower-priority adverts).
    const detect = 2 * 2000 + 2000;
    timing('takeover after the health check failed', await timeUntilAddress(lan, 'h2', vip, t0, detect + backupDown + 15_000), detect + backupDown + MARGIN_MS);
    await r.backup.waitForState('VI_1', 'MASTER', 2000);
    await r.master.waitForState('VI_1', 'BACKUP', 5000);
    await waitForHolders(lan, HOSTS, vip, ['h2'], 5000);
    await sleep(1000);
    await observe(r, 'nginx down on the master', true);

    // 9. nginx is back: one success (rise 1) restores 101 and the master preempts.
    await rm(flag);
    t0 = performance.now();
    timing('preemption after the health check recovered', await timeUntilAddress(lan, 'h1', vip, t0, 2000 + masterDown + 15_000), 2000 + 2000 + masterDown + MARGIN_MS);
    await r.master.waitForState('VI_1', 'MASTER', 2000);
    await r.backup.waitForState('VI_1', 'BACKUP', 5000);
    await waitForHolders(lan, HOSTS, vip, ['h1'], 5000);
    await sleep(1000);
    await observe(r, 'nginx back on the master', true);
  }

  test('the same steps on two keepalived and on two vipd (side by side)', async (t) => {
    if (!requireRoot(t)) return;
    await Promise.all(runs.map((r) => play(r)));
    for (const r of runs) t.diagnostic(`${r.impl}: ${r.timings.join('; ')}`);
  });

  test('what an operator observes is identical, and it is what the seed intends', async (t) => {
    if (!requireRoot(t)) return;
    const [ka, vi] = runs as [Run, Run];
    const expected: Observation[] = [
      { step: 'both started', h1: 'MASTER', h2: 'BACKUP', vip: ['h1'] },
      { step: 'master stopped', h1: 'stopped', h2: 'MASTER', vip: ['h2'] },
      { step: 'master restarted', h1: 'MASTER', h2: 'BACKUP', vip: ['h1'] },
      { step: 'master crashed', h1: 'stopped', h2: 'MASTER', vip: ['h1', 'h2'] },
      { step: 'master restarted after crash', h1: 'MASTER', h2: 'BACKUP', vip: ['h1'] },
      { step: 'backup stopped', h1: 'MASTER', h2: 'stopped', vip: ['h1'] },
      { step: 'backup restarted', h1: 'MASTER', h2: 'BACKUP', vip: ['h1'] },
      { step: 'nginx down on the master', h1: 'BACKUP', h2: 'MASTER', vip: ['h2'], h1Priority: MASTER_PRIO - 5 },
      { step: 'nginx back on the master', h1: 'MASTER', h2: 'BACKUP', vip: ['h1'], h1Priority: MASTER_PRIO },
    ];
    assert.deepEqual(vi.record, ka.record, 'vipd differs from keepalived');
    assert.deepEqual(ka.record, expected, 'keepalived itself did not do what the seed intends');
  });

  test('the health script ran on every host under both implementations', async (t) => {
    if (!requireRoot(t)) return;
    const runsOf = async (r: Run, host: string): Promise<number> => {
      const f = join(r.dir, `${host}-chk_nginx.sh.runs`);
      try {
        await stat(f);
      } catch {
        return 0;
      }
      return (await readFile(f, 'utf8')).split('\n').filter(Boolean).length;
    };
    const counts: string[] = [];
    for (const r of runs) {
      for (const host of HOSTS) {
        const n = await runsOf(r, host);
        counts.push(`${r.impl} ${host}: ${n}`);
        // Every 2 s over the whole run (well over 40 s): far more than 4 runs.
        assert.ok(n >= 4, `${r.impl} ran ${host}'s chk_nginx.sh only ${n} times`);
      }
    }
    t.diagnostic(`chk_nginx.sh runs: ${counts.join(', ')}`);
  });
});
