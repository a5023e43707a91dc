/**
 * vipd SIGKILLed while MASTER and brought back by its supervisor (issue 7), the way
 * systemd's Restart=on-failure does it: a shell loop in the host runs the ExecStartPre
 * config test, then vipd, and starts it again RestartSec after it died. The test only
 * kills; the restart happens without its help.
 *
 * A SIGKILLed master leaves its VIP in the kernel. The restarted vipd must remove it
 * before anything else, come up BACKUP, and then preempt back; after it is back, the VIP
 * may be on two hosts for at most one advert interval (the handover itself).
 *
 * Two rounds: a slow restart (the backup took the VIP meanwhile, so both hosts hold it
 * until the stale copy is removed) and a quick one (back before the backup's down timer).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from '../../src/control/client.js';
import type { InstanceStatus, StatusDocument } from '../../src/control/status.js';
import { Lan, netnsSkip, type NsProcess } from '../helpers/netns.js';
import { holders, masterDownMs, REPO_ROOT, sleep, VIPD_BIN, VipdHost, vrrpConf, waitUntil } from '../helpers/vipd.js';

const ADVERT_MS = 1000;
const MARGIN_MS = 1500;

/** Which hosts held the VIP, sampled until stopped. */
class HolderLog {
  readonly samples: Array<{ at: number; on: string[] }> = [];
  #stop = false;
  readonly #done: Promise<void>;

  constructor(lan: Lan, hosts: readonly string[], ip: string) {
    this.#done = (async () => {
      while (!this.#stop) {
        const at = performance.now();
        this.samples.push({ at, on: await holders(lan, hosts, ip) });
        await sleep(40);
      }
    })();
  }

  /** Time (ms) from `since` to the last sample that saw the VIP on two hosts; 0 if none. */
  doubleAfter(since: number): number {
    const last = this.samples.filter((s) => s.at >= since && s.on.length > 1).pop();
    return last === undefined ? 0 : last.at - since;
  }

  sawDouble(from: number, to: number): boolean {
    return this.samples.some((s) => s.at >= from && s.at <= to && s.on.length > 1);
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await this.#done;
  }
}

describe('vipd SIGKILLed while MASTER and restarted by its supervisor', { skip: netnsSkip() }, () => {
  let lan: Lan;
  let dir: string;
  let h2: VipdHost;
  let supervisor: NsProcess;
  let vip: string;
  let restartSecFile: string;
  let pidFile: string;
  let socket: string;

  const instance = (priority: number, state: 'MASTER' | 'BACKUP') => ({ name: 'VI_1', state, vrid: 51, priority, vips: [`${vip}/24`] });

  async function h1Status(): Promise<InstanceStatus> {
    const doc = (await request(socket, 'status')) as StatusDocument;
    const i = doc.instances.find((x) => x.name === 'VI_1');
    assert.ok(i, JSON.stringify(doc));
    return i;
  }

  async function h1WaitFor(pred: (i: InstanceStatus) => boolean, what: string, timeoutMs: number): Promise<InstanceStatus> {
    let last: InstanceStatus | undefined;
    await waitUntil(
      async () => {
        try {
          last = await h1Status();
          return pred(last);
        } catch {
          return false; // not listening yet
        }
      },
      `h1 ${what}`,
      timeoutMs,
      () => `${JSON.stringify(last)}\n${supervisor.tail(30)}`,
    );
    return last as InstanceStatus;
  }

  async function vipdPid(): Promise<number> {
    return Number((await readFile(pidFile, 'utf8')).trim());
  }

  before(async () => {
    lan = await Lan.create({ hosts: ['h1', 'h2'] });
    dir = await mkdtemp(join(tmpdir(), 'vipd-fault-restart-'));
    vip = lan.addr(100);
    const conf = join(dir, 'h1.conf');
    pidFile = join(dir, 'h1.pid');
    socket = join(dir, 'h1.sock');
    restartSecFile = join(dir, 'restart-sec');
    await writeFile(conf, vrrpConf({ routerId: 'lb01', instances: [instance(150, 'MASTER')] }));
    await writeFile(restartSecFile, '5\n');
    const vipd = `${process.execPath} ${VIPD_BIN}`;
    // systemd/vipd.service: ExecStartPre=vipd --config-test, ExecStart=vipd, Restart=on-failure.
    const loop = [
      'while :; do',
      `  ${vipd} --config-test -f ${conf} >/dev/null || exit 1`,
      `  ${vipd} -l -D -f ${conf} --control-socket ${socket} -p ${pidFile}`,
      '  rc=$?',
      `  delay=$(cat ${restartSecFile})`,
      '  echo "supervisor: vipd exited with status $rc; restarting in $delay s" >&2',
      '  sleep "$delay"',
      'done',
    ].join('\n');
    supervisor = lan.spawn('h1', ['sh', '-c', loop], { cwd: REPO_ROOT });
    await supervisor.waitForLine(/vipd started/, { timeoutMs: 20_000 });
    await h1WaitFor((i) => i.state === 'MASTER', 'MASTER', 15_000);
    h2 = await VipdHost.start(lan, 'h2', dir, vrrpConf({ routerId: 'lb02', instances: [instance(100, 'BACKUP')] }));
    await h2.waitForBackupOf('VI_1', lan.host('h1').ipv4);
  });

  after(async () => {
    await supervisor?.kill('SIGKILL');
    await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** SIGKILLs h1's vipd; resolves once the supervisor has seen it die. */
  async function killH1(): Promise<{ killedAt: number; pid: number }> {
    const pid = await vipdPid();
    const mark = supervisor.mark();
    const killedAt = performance.now();
    process.kill(pid, 'SIGKILL');
    await supervisor.waitForLine(/supervisor: vipd exited with status 137/, { after: mark, timeoutMs: 5000 });
    return { killedAt, pid };
  }

  test('slow restart: the backup took the VIP meanwhile; the restarted vipd removes its stale copy at once, comes up BACKUP and preempts back', async (t) => {
    await writeFile(restartSecFile, '5\n');
    assert.ok(await lan.hasAddress('h1', vip));
    const samples = new HolderLog(lan, ['h1', 'h2'], vip);
    try {
      const mark = supervisor.mark();
      const { killedAt, pid } = await killH1();
      // The kernel keeps a SIGKILLed daemon's VIP: this is the stale copy the restart must remove.
      await sleep(300);
      assert.ok(await lan.hasAddress('h1', vip), 'the VIP should outlive the SIGKILLed vipd');
      // The backup takes over after its Master_Down_Interval, while h1 is still down.
      await h2.waitForState('VI_1', 'MASTER', masterDownMs(100) + MARGIN_MS);
      await lan.waitForAddress('h2', vip, { timeoutMs: 2000 });
      const bothHeld = performance.now();
      assert.ok(samples.sawDouble(killedAt, bothHeld) || (await lan.hasAddress('h1', vip)), 'the stale VIP was on h1 while h2 held it');

      await supervisor.waitForLine(/vipd started/, { after: mark, timeoutMs: 20_000 });
      const backAt = performance.now();
      assert.notEqual(await vipdPid(), pid, 'a new vipd runs');
      const newLines = supervisor.stderr.slice(mark.stderr);
      const stale = newLines.findIndex((l) => /\(VI_1\) removed stale VIP .* \(left by an earlier run\)/.test(l));
      const started = newLines.findIndex((l) => /vipd started/.test(l));
      assert.ok(stale >= 0 && stale < started, `the stale VIP is removed before start-up completes:\n${supervisor.tail(30)}`);
      assert.equal(await lan.hasAddress('h1', vip), false, 'no stale VIP on h1 once vipd is back');
      const first = newLines.find((l) => /\(VI_1\) Entering \w+ STATE/.test(l));
      assert.match(first ?? '', /Entering BACKUP STATE/, 'the restarted vipd comes up BACKUP');

      // It preempts the lower-priority master after its own down timer.
      const m = await h1WaitFor((i) => i.state === 'MASTER', 'MASTER again', masterDownMs(150) + 5000);
      assert.match(m.lastTransition?.reason ?? '', /preempting lower priority master/);
      await h2.waitForState('VI_1', 'BACKUP', 3000);
      await lan.waitForAddress('h2', vip, { present: false, timeoutMs: 3000 });
      await sleep(500);
      const double = samples.doubleAfter(backAt);
      t.diagnostic(`VIP on two hosts for ${double.toFixed(0)} ms after vipd was back`);
      assert.ok(double <= ADVERT_MS, `the VIP was on both hosts ${double.toFixed(0)} ms after h1 was back`);
    } finally {
      await samples.stop();
    }
    assert.deepEqual(await holders(lan, ['h1', 'h2'], vip), ['h1']);
  });

  test('quick restart (before the backup’s down timer): the stale VIP goes, BACKUP first, never two holders after it is back', async (t) => {
    await writeFile(restartSecFile, '0.1\n');
    await h1WaitFor((i) => i.state === 'MASTER', 'MASTER', 10_000);
    await h2.waitForBackupOf('VI_1', lan.host('h1').ipv4);
    const samples = new HolderLog(lan, ['h1', 'h2'], vip);
    try {
      const mark = supervisor.mark();
      await killH1();
      await supervisor.waitForLine(/vipd started/, { after: mark, timeoutMs: 20_000 });
      const backAt = performance.now();
      const newLines = supervisor.stderr.slice(mark.stderr);
      assert.ok(newLines.some((l) => /\(VI_1\) removed stale VIP/.test(l)), supervisor.tail(30));
      assert.match(newLines.find((l) => /\(VI_1\) Entering \w+ STATE/.test(l)) ?? '', /Entering BACKUP STATE \(startup\)/);
      // Whoever wins the race of the down timers, h1 ends up MASTER and alone with the VIP.
      await h1WaitFor((i) => i.state === 'MASTER', 'MASTER again', masterDownMs(150) + 5000);
      await h2.waitForBackupOf('VI_1', lan.host('h1').ipv4, 5000);
      await lan.waitForAddress('h2', vip, { present: false, timeoutMs: 3000 });
      await sleep(500);
      const double = samples.doubleAfter(backAt);
      t.diagnostic(`VIP on two hosts for ${double.toFixed(0)} ms after vipd was back`);
      assert.ok(double <= ADVERT_MS, `the VIP was on both hosts ${double.toFixed(0)} ms after h1 was back`);
    } finally {
      await samples.stop();
    }
    assert.deepEqual(await holders(lan, ['h1', 'h2'], vip), ['h1']);
    // The restarts left no second vipd behind and the control socket answers the new one.
    const doc = (await request(socket, 'status')) as StatusDocument;
    assert.equal(doc.pid, await vipdPid());
  });
});
