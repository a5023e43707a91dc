// runCommand with real short-lived processes: exit codes, timeouts that kill the whole
// process group (SIGTERM, then SIGKILL), aborts, output caps, background children.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCommand } from '../../src/exec/run-command.js';

const sh = (script: string): string[] => ['/bin/sh', '-c', script];
const isRoot = process.getuid?.() === 0;
const needRoot = isRoot || process.env['CI'] === 'true' ? false : 'needs root to run as another uid';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(what: string, pred: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function readPid(file: string): Promise<number> {
  let text = '';
  await waitFor(`pid in ${file}`, async () => {
    text = await readFile(file, 'utf8').catch(() => '');
    return /^\d+\s*$/.test(text);
  });
  return Number(text);
}

describe('runCommand', () => {
  let dir = '';
  const leftovers: number[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vipd-run-'));
    await chmod(dir, 0o755);
  });
  after(async () => {
    for (const pid of leftovers) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('reports the exit status and the output, stdout and stderr', async () => {
    const r = await runCommand({ argv: sh('echo out; echo err >&2; exit 3'), timeoutMs: 10_000 });
    assert.deepEqual(r.outcome, { kind: 'exit', code: 3 });
    assert.match(r.output, /out/);
    assert.match(r.output, /err/);
    assert.equal(r.truncated, false);
  });

  it('keeps output written just before the exit', async () => {
    const r = await runCommand({ argv: sh("printf 'last words'; exit 0"), timeoutMs: 10_000 });
    assert.equal(r.output, 'last words');
  });

  it('reports a program that does not exist as an error, not a crash', async () => {
    const r = await runCommand({ argv: [join(dir, 'nope')], timeoutMs: 1000 });
    assert.equal(r.outcome.kind, 'error');
    assert.equal(r.outcome.kind === 'error' && r.outcome.errno, 'ENOENT');
  });

  it('reports a death by signal', async () => {
    const r = await runCommand({ argv: sh('kill -SEGV $$'), timeoutMs: 10_000 });
    assert.deepEqual(r.outcome, { kind: 'signal', signal: 'SIGSEGV' });
  });

  it('timeout: SIGTERM to the group, SIGKILL after the grace when it is ignored, and nothing is left', async () => {
    const pidFile = join(dir, 'stubborn.pid');
    // TERM is ignored by the shell and inherited as ignored by its children.
    const started = performance.now();
    const r = await runCommand({
      argv: sh(`trap '' TERM; sleep 1000 & echo $! > ${pidFile}; while :; do sleep 0.05; done`),
      timeoutMs: 300,
      killGraceMs: 300,
    });
    const took = performance.now() - started;
    assert.equal(r.outcome.kind, 'timeout');
    assert.ok(took >= 550, `SIGKILL came after the grace (took ${Math.round(took)} ms)`);
    const child = await readPid(pidFile);
    leftovers.push(child);
    await waitFor('the background child to be killed with its group', () => !alive(child), 5000);
  });

  it('timeout: a script that dies of SIGTERM has the rest of its group killed at once (keepalived)', async () => {
    const pidFile = join(dir, 'orphan.pid');
    const r = await runCommand({
      argv: sh(`(trap '' TERM; exec sleep 1000) & echo $! > ${pidFile}; sleep 1000`),
      timeoutMs: 300,
      killGraceMs: 60_000,
    });
    assert.equal(r.outcome.kind, 'timeout');
    const child = await readPid(pidFile);
    leftovers.push(child);
    await waitFor('the TERM-proof child to be gone long before the grace', () => !alive(child), 5000);
  });

  it('abort stops the run like a timeout and says so', async () => {
    const ac = new AbortController();
    let pid = 0;
    const p = runCommand({ argv: sh('sleep 1000'), timeoutMs: null, signal: ac.signal, onSpawn: (x) => (pid = x) });
    await waitFor('spawn', () => pid !== 0);
    ac.abort();
    const r = await p;
    assert.equal(r.outcome.kind, 'aborted');
    await waitFor('the aborted process to be gone', () => !alive(pid), 5000);
  });

  it('an already aborted signal does not start anything', async () => {
    const ac = new AbortController();
    ac.abort();
    let spawned = false;
    const r = await runCommand({ argv: sh('exit 0'), timeoutMs: 1000, signal: ac.signal, onSpawn: () => (spawned = true) });
    assert.equal(r.outcome.kind, 'aborted');
    assert.equal(spawned, false);
  });

  it('timeoutMs null means no timeout', async () => {
    const r = await runCommand({ argv: sh('sleep 0.2; exit 4'), timeoutMs: null });
    assert.deepEqual(r.outcome, { kind: 'exit', code: 4 });
  });

  it('drains a 10 MB flood and keeps only maxOutputBytes', async () => {
    const r = await runCommand({ argv: sh('yes vipd | head -c 10000000; exit 0'), timeoutMs: 30_000, maxOutputBytes: 1000 });
    assert.deepEqual(r.outcome, { kind: 'exit', code: 0 });
    assert.equal(r.output.length, 1000);
    assert.equal(r.truncated, true);
  });

  it('keeps draining an endless flood until the timeout, memory bounded', async () => {
    const before = process.memoryUsage().arrayBuffers;
    const r = await runCommand({ argv: ['yes', 'flood'], timeoutMs: 1000, maxOutputBytes: 4096 });
    assert.equal(r.outcome.kind, 'timeout');
    assert.equal(r.output.length, 4096);
    const grown = process.memoryUsage().arrayBuffers - before;
    assert.ok(grown < 32 * 1024 * 1024, `array buffers grew by ${grown} bytes`);
  });

  it('ends when the script exits even if a background child keeps the output pipe open; the child lives on', async () => {
    const started = performance.now();
    const r = await runCommand({ argv: sh('sleep 30 & echo $!; exit 0'), timeoutMs: 10_000 });
    assert.ok(performance.now() - started < 5000);
    assert.deepEqual(r.outcome, { kind: 'exit', code: 0 });
    const child = Number(r.output.trim());
    leftovers.push(child);
    assert.ok(alive(child), 'keepalived does not kill what a finished script left running either');
    process.kill(child, 'SIGKILL');
  });

  it('does not keep the daemon alive because of such a background child', async () => {
    const mod = resolve('dist/src/exec/run-command.js');
    const code = `import(${JSON.stringify(mod)}).then(async (m) => {
      const r = await m.runCommand({ argv: ['/bin/sh', '-c', 'sleep 30 & echo $!; exit 0'], timeoutMs: 5000 });
      console.log(r.output.trim());
    });`;
    const started = performance.now();
    const out = await new Promise<string>((res, rej) => {
      const p = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
      let s = '';
      p.stdout.on('data', (d: Buffer) => (s += d.toString()));
      p.on('error', rej);
      p.on('exit', () => res(s));
    });
    const child = Number(out.trim());
    if (child > 0) leftovers.push(child);
    assert.ok(child > 0, `got the background pid (${out})`);
    assert.ok(performance.now() - started < 8000, 'node exited without waiting 30 s for the background child');
  });

  it('runs as another uid/gid', { skip: needRoot }, async () => {
    const r = await runCommand({ argv: sh('id -u; id -g'), timeoutMs: 10_000, uid: 65534, gid: 65534 });
    assert.deepEqual(r.outcome, { kind: 'exit', code: 0 });
    assert.deepEqual(r.output.trim().split('\n'), ['65534', '65534']);
  });
});
