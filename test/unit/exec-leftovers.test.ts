// What a finished script leaves running in its process group: runCommand reports the group
// (RunResult.leftoverGroup), isLeftoverGroup tells it from a reused number, killLeftovers
// ends it (SIGTERM, then SIGKILL after the grace). Real short-lived scripts in a temp dir.
//
// Orphans are reparented to PID 1; where PID 1 does not reap (some containers), a killed
// leftover stays a zombie, still a member of its group. "Ended" below therefore means gone
// or a zombie (/proc/<pid>/stat state Z).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { isLeftoverGroup, killLeftovers, runCommand, type RunResult } from '../../src/exec/run-command.js';

const RUN_COMMAND_JS = fileURLToPath(new URL('../../src/exec/run-command.js', import.meta.url));
const isRoot = process.getuid?.() === 0;
const needRoot = isRoot || process.env['CI'] === 'true' ? false : 'needs root for a PID namespace (unshare) and ns_last_pid';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The state letter and process group of `pid` from /proc, or null when it is gone. */
async function procStat(pid: number): Promise<{ state: string; pgid: number } | null> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (text === null) return null;
  // "pid (comm) S ppid pgrp ...": comm may hold spaces, so split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '?', pgid: Number(fields[2]) };
}

async function ended(pid: number): Promise<boolean> {
  const s = await procStat(pid);
  return s === null || s.state === 'Z';
}

async function running(pid: number): Promise<boolean> {
  return !(await ended(pid));
}

async function waitFor(what: string, pred: () => Promise<boolean> | boolean, ms = 4000): Promise<void> {
  const end = performance.now() + ms;
  while (!(await pred())) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

async function readPids(file: string, count = 1): Promise<number[]> {
  let pids: number[] = [];
  await waitFor(`${count} pid(s) in ${file}`, async () => {
    const text = await readFile(file, 'utf8').catch(() => '');
    pids = text.split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
    return pids.length >= count;
  });
  return pids;
}

/** Whether some process group has the number `g` (zombie members count, as for the kernel). */
function groupExists(g: number): boolean {
  try {
    process.kill(-g, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

describe('leftover process groups', () => {
  let dir = '';
  let seq = 0;
  /** Processes the scripts started, with their group: after() kills only a pid still in that group. */
  const strays: Array<{ pid: number; pgid: number }> = [];
  const groups: number[] = [];
  const children: ChildProcess[] = [];

  /** An executable /bin/sh script in the temp dir; `$1` is a file for it to write pids to. */
  const script = async (body: string): Promise<{ argv: string[]; pidFile: string }> => {
    const n = ++seq;
    const path = join(dir, `script-${n}.sh`);
    await writeFile(path, `#!/bin/sh\n${body}\n`);
    await chmod(path, 0o755);
    return { argv: [path, join(dir, `pids-${n}`)], pidFile: join(dir, `pids-${n}`) };
  };

  /** Runs a script, remembering what it started so after() can clean up if a test fails. */
  const run = async (body: string, timeoutMs = 10_000, count = 1): Promise<{ r: RunResult; pids: number[]; pid: number; pidFile: string }> => {
    const s = await script(body);
    let pid = -1;
    const r = await runCommand({ argv: s.argv, timeoutMs, killGraceMs: 200, onSpawn: (p) => (pid = p) });
    const pids = count === 0 ? [] : await readPids(s.pidFile, count);
    for (const p of pids) {
      const st = await procStat(p);
      if (st !== null) strays.push({ pid: p, pgid: st.pgid });
    }
    if (r.leftoverGroup !== undefined) groups.push(r.leftoverGroup);
    return { r, pids, pid, pidFile: s.pidFile };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vipd-leftovers-'));
    await chmod(dir, 0o755);
  });
  after(async () => {
    for (const { pid, pgid } of strays) {
      if ((await procStat(pid))?.pgid !== pgid) continue; // gone, or the number went to someone else
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    for (const g of groups) if (isLeftoverGroup(g)) process.kill(-g, 'SIGKILL');
    for (const c of children) c.kill('SIGKILL');
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  describe('runCommand reports the group a finished script left running', () => {
    it('a script that backgrounds sleep 30 and exits: its process group, where the sleep still runs', async () => {
      const started = performance.now();
      const { r, pids, pid } = await run('sleep 30 &\necho $! > "$1"\nexit 0');
      assert.ok(performance.now() - started < 5000, 'the run ends with the script, not with the sleep');
      assert.deepEqual(r.outcome, { kind: 'exit', code: 0 });
      assert.equal(r.leftoverGroup, pid, 'the script led its own process group');
      const sleepPid = pids[0] ?? -1;
      assert.deepEqual(await procStat(sleepPid).then((s) => s && { running: s.state !== 'Z', pgid: s.pgid }), { running: true, pgid: pid });
      assert.equal(isLeftoverGroup(pid), true, 'members live on, the leader is gone');
      await killLeftovers([pid]);
      assert.ok(await ended(sleepPid));
    });

    it('a script that leaves nothing running reports no group', async () => {
      for (const body of [
        'exit 0',
        'exit 3',
        'sleep 0.05\nexit 0', // a foreground child, finished before the script
        'sleep 0.05 &\nwait\nexit 0', // a background child the script waited for
        '(sleep 0.05; exit 0) &\nwait $!\nexit 1',
      ]) {
        const { r } = await run(body, 10_000, 0);
        assert.equal(r.outcome.kind, 'exit', body);
        assert.equal('leftoverGroup' in r, false, `${body}: ${JSON.stringify(r)}`);
      }
    });

    it('a script killed by a signal still reports what it left running', async () => {
      const { r, pids, pid } = await run('sleep 30 &\necho $! > "$1"\nkill -KILL $$');
      assert.deepEqual(r.outcome, { kind: 'signal', signal: 'SIGKILL' });
      assert.equal(r.leftoverGroup, pid);
      assert.ok(await running(pids[0] ?? -1));
      await killLeftovers([pid]);
      assert.ok(await ended(pids[0] ?? -1));
    });

    it('a script that timed out has its whole group killed, so there is no group to report', async () => {
      // The background child ignores SIGTERM; the script dies of it: SIGKILL to the group at once.
      const { r, pids } = await run(`sh -c 'trap "" TERM; echo $$ > "$1"; while :; do sleep 1; done' sh "$1" &\nsleep 30`, 300);
      assert.deepEqual(r.outcome, { kind: 'timeout' });
      assert.equal('leftoverGroup' in r, false);
      await waitFor('the background sleep ended with its group', () => ended(pids[0] ?? -1));
    });

    it('a child that left the group (setsid) is not the script\'s leftover', async () => {
      // setsid(1) in a background job (not a group leader) calls setsid() itself: new session, new group.
      const { r, pids } = await run('setsid sleep 30 &\necho $! > "$1"\nsleep 0.3\nexit 0');
      assert.equal('leftoverGroup' in r, false, JSON.stringify(r));
      const s = await procStat(pids[0] ?? -1);
      assert.equal(s?.pgid, pids[0], 'it leads its own group now');
    });
  });

  describe('killLeftovers', () => {
    it('ends the leftover with SIGTERM first', async () => {
      // The leftover traps SIGTERM to write it down, then exits.
      const { r, pids, pidFile } = await run(
        `sh -c 'trap "echo TERM > \\"$1.term\\"; exit 0" TERM; echo $$ > "$1"; sleep 30 & wait' sh "$1" &\nexit 0`,
      );
      const group = r.leftoverGroup;
      assert.ok(group !== undefined);
      await killLeftovers([group], 300);
      assert.equal((await readFile(`${pidFile}.term`, 'utf8')).trim(), 'TERM');
      assert.ok(await ended(pids[0] ?? -1));
    });

    it('a leftover that ignores SIGTERM gets SIGKILL once the grace has passed, not before', async () => {
      // An ignored signal stays ignored across exec: the loop's sleeps ignore it too.
      const { r, pids } = await run(`sh -c 'trap "" TERM; echo $$ > "$1"; while :; do sleep 1; done' sh "$1" &\nexit 0`);
      const group = r.leftoverGroup;
      assert.ok(group !== undefined);
      const started = performance.now();
      const killing = killLeftovers([group], 600);
      await sleep(200);
      assert.ok(await running(pids[0] ?? -1), 'still running during the grace: SIGTERM is all it got so far');
      await killing;
      const took = performance.now() - started;
      assert.ok(took >= 590, `SIGKILL only after the grace (took ${Math.round(took)} ms)`);
      assert.ok(took < 4000, `took ${Math.round(took)} ms`);
      await waitFor('the leftover killed', () => ended(pids[0] ?? -1));
    });

    it('several groups in one call, with numbers of groups already gone', async () => {
      const a = await run('sleep 30 &\necho $! > "$1"\nsleep 30 &\necho $! >> "$1"\nexit 0', 10_000, 2);
      const b = await run('sleep 30 &\necho $! > "$1"\nexit 0');
      const gone = await run('sleep 0.01 &\necho $! > "$1"\nwait\nexit 0');
      assert.equal(a.pids.length, 2);
      assert.ok(a.r.leftoverGroup !== undefined && b.r.leftoverGroup !== undefined);
      assert.equal(gone.r.leftoverGroup, undefined);
      await killLeftovers([a.r.leftoverGroup, b.r.leftoverGroup, gone.pid], 300);
      for (const p of [...a.pids, ...b.pids]) assert.ok(await ended(p), `pid ${p} ended`);
    });

    it('nothing to do: an empty list resolves at once', async () => {
      const started = performance.now();
      await killLeftovers([]);
      assert.ok(performance.now() - started < 250);
    });
  });

  describe('a group number that is not (or no longer) a leftover is never signalled', () => {
    it('a number whose process leads its own group (what a reused number looks like) is left alone', async () => {
      // After the leftover group is gone its number may go to a new process; a daemon's child
      // started with setsid() (or a detached spawn) then leads a group of that very number.
      const c = spawn('/bin/sleep', ['30'], { detached: true, stdio: 'ignore' });
      children.push(c);
      const pid = c.pid ?? -1;
      await waitFor('the sleep to run', async () => (await procStat(pid))?.pgid === pid);
      let exited = false;
      c.on('exit', () => (exited = true));
      assert.equal(isLeftoverGroup(pid), false);
      await killLeftovers([pid], 50);
      await sleep(100);
      assert.equal(exited, false, 'the process that got the number was not signalled');
      assert.ok(await running(pid));
      c.kill('SIGKILL');
    });

    it('a number nobody has', async () => {
      let free = -1;
      for (let n = 4_000_000; n > 300; n -= 7919) {
        if ((await procStat(n)) === null && !groupExists(n)) {
          free = n;
          break;
        }
      }
      assert.ok(free > 0);
      assert.equal(isLeftoverGroup(free), false);
      await killLeftovers([free], 50);
    });

    it('a leftover group, ended, its number really reused by a new process: not signalled', { skip: needRoot }, async () => {
      // In a fresh PID namespace (a sh as its PID 1 reaps the orphans) the next pid can be
      // chosen through /proc/sys/kernel/ns_last_pid, so the leftover's number is handed to a
      // new group leader for certain; killLeftovers must leave that process alone.
      const driver = join(dir, 'reuse.mjs');
      await writeFile(
        driver,
        `import { runCommand, isLeftoverGroup, killLeftovers } from ${JSON.stringify(RUN_COMMAND_JS)};
import { writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const groupAlive = (g) => { try { process.kill(-g, 0); return true; } catch { return false; } };
const out = {};
const r = await runCommand({ argv: ['/bin/sh', '-c', 'sleep 30 & exit 0'], timeoutMs: 5000 });
const g = r.leftoverGroup;
out.group = g ?? null;
out.leftoverBefore = g !== undefined && isLeftoverGroup(g);
if (g !== undefined) {
  process.kill(-g, 'SIGKILL');
  for (let i = 0; i < 300 && groupAlive(g); i++) await sleep(10);
  out.goneBeforeReuse = !groupAlive(g);
  let reused;
  for (let i = 0; i < 20 && reused === undefined; i++) {
    writeFileSync('/proc/sys/kernel/ns_last_pid', String(g - 1));
    const c = spawn('/bin/sleep', ['30'], { detached: true, stdio: 'ignore' });
    if (c.pid === g) reused = c;
    else c.kill('SIGKILL');
  }
  out.reused = reused !== undefined;
  if (reused !== undefined) {
    out.isLeftoverAfterReuse = isLeftoverGroup(g);
    await killLeftovers([g], 100);
    await sleep(150);
    out.reusedAlive = reused.exitCode === null && reused.signalCode === null;
    reused.kill('SIGKILL');
  }
}
console.log(JSON.stringify(out));
`,
      );
      const out = await new Promise<string>((resolve, reject) => {
        const p = spawn('unshare', ['--pid', '--fork', '--mount-proc', '/bin/sh', '-c', `"${process.execPath}" "$0"; true`, driver], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let s = '';
        let e = '';
        p.stdout.on('data', (d: Buffer) => (s += d.toString()));
        p.stderr.on('data', (d: Buffer) => (e += d.toString()));
        p.on('error', reject);
        p.on('exit', (code) => (code === 0 ? resolve(s) : reject(new Error(`unshare exited ${code}: ${e}`))));
      });
      const res = JSON.parse(out) as Record<string, unknown>;
      assert.equal(typeof res['group'], 'number', out);
      assert.equal(res['leftoverBefore'], true, out);
      assert.equal(res['goneBeforeReuse'], true, out);
      assert.equal(res['reused'], true, `the number went to the new process: ${out}`);
      assert.equal(res['isLeftoverAfterReuse'], false, out);
      assert.equal(res['reusedAlive'], true, `the new owner of the number was not killed: ${out}`);
    });
  });
});
