/**
 * Health scripts that misbehave, end to end in the daemon (issue 7); the mechanism has unit
 * tests (track-*.test.ts), and the hanging/stubborn/missing-at-load cases are in
 * track-scripts.test.ts. Here, on the master:
 * - a script that leaves a child running after it exits: OK, runs are not held up;
 * - a script that prints megabytes: OK, only an excerpt is kept;
 * - a script killed by a signal: FAILING, and the status says which signal;
 * - a script deleted, or made non-executable, while vipd runs: FAILING with the reason
 *   (the deleted one weighs enough to hand the VIP over; it comes back when restored);
 * - meanwhile the master's adverts keep their 1 s interval, with the priority the scripts
 *   make; and once vipd stops, nothing it started is left in the namespace (no orphan, no zombie).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InstanceStatus, TrackerStatus } from '../../src/control/status.js';
import { Lan, netnsSkip } from '../helpers/netns.js';
import { AdvertCapture, masterDownMs, sleep, VipdHost, vrrpConf, waitUntil, type InstanceSpec } from '../helpers/vipd.js';

const SCRIPTS: Record<string, string> = {
  // Leaves a child behind (its marker: the odd duration) and succeeds at once.
  'fork.sh': 'sleep 6001 &\nexit 0\n',
  // About 5 MB on stdout, then success.
  'chatty.sh': "head -c 5000000 /dev/zero | tr '\\0' x\necho\nexit 0\n",
  'signal.sh': 'kill -KILL $$\n',
  'gone.sh': 'exit 0\n',
  'noexec.sh': 'exit 0\n',
};

function tracker(i: InstanceStatus, name: string): TrackerStatus {
  const t = i.trackers.find((x) => x.kind === 'script' && x.name === name);
  assert.ok(t, `no script tracker ${name} in ${JSON.stringify(i.trackers)}`);
  return t;
}

describe('health scripts that misbehave, in the running daemon', { skip: netnsSkip() }, () => {
  let lan: Lan;
  let dir: string;
  let h1: VipdHost;
  let h2: VipdHost;
  let vip: string;
  const path = (name: string): string => join(dir, name);

  /** `ps` lines (pid, state, command) of the processes in h1's namespace. */
  async function h1Processes(): Promise<string[]> {
    const pids = (await lan.exec('h1', ['ip', 'netns', 'pids', lan.host('h1').ns]).catch(() => ''))
      .split(/\s+/)
      .filter(Boolean);
    if (pids.length === 0) return [];
    const out = await lan.exec('h1', ['ps', '-o', 'pid=,stat=,args=', '-p', pids.join(',')]).catch(() => '');
    return out.split('\n').filter((l) => l.trim() !== '');
  }

  before(async () => {
    lan = await Lan.create({ hosts: ['h1', 'h2'] });
    dir = await mkdtemp(join(tmpdir(), 'vipd-fault-scripts-'));
    vip = lan.addr(100);
    for (const [name, body] of Object.entries(SCRIPTS)) {
      await writeFile(path(name), `#!/bin/sh\n${body}`);
      await chmod(path(name), 0o755);
    }
    const script = (name: string, file: string, interval: number, weight: number): string[] => [
      `vrrp_script ${name} {`,
      `    script "${path(file)}"`,
      `    interval ${interval}`,
      '    timeout 5',
      `    weight ${weight}`,
      '}',
    ];
    const vi1: InstanceSpec = {
      name: 'VI_1',
      state: 'MASTER',
      vrid: 51,
      priority: 150,
      vips: [`${vip}/24`],
      extra: ['track_script {', '    chk_fork', '    chk_chatty', '    chk_signal', '    chk_gone', '    chk_noexec', '}'],
    };
    const conf = vrrpConf({
      routerId: 'lb01',
      preamble: [
        ...script('chk_fork', 'fork.sh', 1, -60),
        ...script('chk_chatty', 'chatty.sh', 2, -60),
        ...script('chk_signal', 'signal.sh', 1, -10),
        ...script('chk_gone', 'gone.sh', 1, -60),
        ...script('chk_noexec', 'noexec.sh', 1, -20),
      ],
      instances: [vi1],
    }).replace('router_id lb01\n', 'router_id lb01\n    script_user root\n');
    h1 = await VipdHost.start(lan, 'h1', dir, conf);
    await h1.waitForState('VI_1', 'MASTER');
    h2 = await VipdHost.start(lan, 'h2', dir, vrrpConf({ routerId: 'lb02', instances: [{ name: 'VI_1', state: 'BACKUP', vrid: 51, priority: 100, vips: [`${vip}/24`] }] }));
    await h2.waitForBackupOf('VI_1', lan.host('h1').ipv4);
  });

  after(async () => {
    await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a child left running, megabytes of output, death by signal: the status says so and the adverts keep their interval', async (t) => {
    const capture = await AdvertCapture.start(lan, 'h2');
    let st: InstanceStatus;
    try {
      const from = Date.now();
      st = await h1.waitFor(
        'VI_1',
        (i) => tracker(i, 'chk_fork').runs! >= 3 && tracker(i, 'chk_chatty').runs! >= 2 && tracker(i, 'chk_signal').status === 'FAILING',
        'scripts have run',
        15_000,
      );
      await sleep(6000);
      const mine = capture.adverts().filter((a) => a.src === lan.host('h1').ipv4 && a.at >= from);
      assert.ok(mine.length >= 5, capture.tail());
      const gaps = mine.slice(1).map((a, i) => a.at - (mine[i] as { at: number }).at);
      t.diagnostic(`${mine.length} adverts, largest gap ${Math.max(...gaps).toFixed(0)} ms`);
      assert.ok(Math.max(...gaps) <= 1500, `advert gaps ${gaps.map((g) => g.toFixed(0)).join(' ')}`);
      assert.deepEqual([...new Set(mine.slice(-3).map((a) => a.priority))], [140], 'on the wire: 150 - 10 for chk_signal');
    } finally {
      await capture.stop();
    }
    st = await h1.instance('VI_1');
    assert.equal(st.state, 'MASTER');
    assert.equal(st.effectivePriority, 140);

    const fork = tracker(st, 'chk_fork');
    assert.equal(fork.status, 'OK');
    assert.equal(fork.failures, 0);
    assert.ok(!h1.log.some((l) => /Track script chk_fork is already running/.test(l)), 'a child holding the pipes does not hold up the next run');
    assert.ok(h1.log.some((l) => /vrrp_script chk_fork: .* exited but left processes running/.test(l)), h1.tail());
    const left = (await h1Processes()).filter((l) => /sleep 6001/.test(l));
    assert.ok(left.length >= 2, `the children fork.sh left behind are still running: ${left.join('\n')}`);

    const chatty = tracker(st, 'chk_chatty');
    assert.equal(chatty.status, 'OK');
    assert.equal(chatty.lastOutcome, 'exited with status 0');
    assert.equal(chatty.failures, 0);

    const sig = tracker(st, 'chk_signal');
    assert.equal(sig.status, 'FAILING');
    assert.equal(sig.lastOutcome, 'killed by SIGKILL');
    assert.ok(h1.log.some((l) => /VRRP_Script\(chk_signal\) failed \(killed by SIGKILL\)/.test(l)), h1.tail());
  });

  test('a script deleted while vipd runs fails with that reason and the backup takes over; put back, h1 is MASTER again', async () => {
    const mark = h1.proc.mark();
    await rename(path('gone.sh'), path('gone.sh.away'));
    let back = false;
    try {
      const f = await h1.waitFor('VI_1', (i) => tracker(i, 'chk_gone').status === 'FAILING', 'chk_gone failing', 5000);
      assert.match(tracker(f, 'chk_gone').problem ?? '', /gone\.sh does not exist/);
      assert.equal(f.effectivePriority, 80);
      await h1.proc.waitForLine(/vrrp_script chk_gone: cannot run .* does not exist; counted as a failure/, { after: mark, timeoutMs: 1000 });
      await h2.waitForState('VI_1', 'MASTER', masterDownMs(100) + 3000);
      await lan.waitForAddress('h1', vip, { present: false, timeoutMs: 3000 });
      await rename(path('gone.sh.away'), path('gone.sh'));
      back = true;
    } finally {
      if (!back) await rename(path('gone.sh.away'), path('gone.sh'));
    }
    const m = await h1.waitForState('VI_1', 'MASTER', masterDownMs(140) + 5000);
    assert.equal(tracker(m, 'chk_gone').status, 'OK');
    assert.equal(tracker(m, 'chk_gone').problem, null);
    await h2.waitForState('VI_1', 'BACKUP', 3000);
    // Logged once, not once a second.
    assert.equal(h1.proc.stderr.slice(mark.stderr).filter((l) => /vrrp_script chk_gone: cannot run/.test(l)).length, 1);
  });

  test('a script made non-executable while vipd runs fails with that reason', async () => {
    await chmod(path('noexec.sh'), 0o644);
    try {
      const f = await h1.waitFor('VI_1', (i) => tracker(i, 'chk_noexec').status === 'FAILING', 'chk_noexec failing', 5000);
      assert.match(tracker(f, 'chk_noexec').problem ?? '', /noexec\.sh is not executable/);
      assert.equal(f.effectivePriority, 120);
      assert.equal(f.state, 'MASTER');
    } finally {
      await chmod(path('noexec.sh'), 0o755);
    }
    const ok = await h1.waitFor('VI_1', (i) => tracker(i, 'chk_noexec').status === 'OK', 'chk_noexec OK again', 5000);
    assert.equal(ok.effectivePriority, 140);
  });

  test('vipd stops: nothing its scripts started is left in the namespace, and no zombie', async () => {
    const children = (await h1Processes()).filter((l) => /sleep 6001/.test(l)).map((l) => Number(l.trim().split(/\s+/)[0]));
    assert.ok(children.length > 0, 'fork.sh children are running before the stop');
    const exit = await h1.stop();
    assert.equal(exit.code, 0);
    let left: string[] = [];
    await waitUntil(async () => (left = await h1Processes()).length === 0, 'h1’s namespace empty', 3000, () => left.join('\n'));
    // A zombie has left its namespace but not the process table: look the children up by pid.
    const still = (): number[] => children.filter((pid) => existsSync(`/proc/${pid}`));
    await waitUntil(() => still().length === 0, 'the children gone', 3000, () => `still there: ${still().join(' ')}`);
    assert.ok(h1.log.some((l) => /vipd stopped/.test(l)), h1.tail());
  });
});
