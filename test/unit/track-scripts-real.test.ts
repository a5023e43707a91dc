// ScriptTracker with real tiny sh scripts in a temp dir and real timers: exit 0/1,
// a script that hangs (timeout), an output flood, a forked child that outlives its
// script, enable_script_security, user. Intervals are short; waits are generous.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { VrrpScript } from '../../src/config/model.js';
import { scriptUsersFrom, parseUserDb, type ScriptUsers } from '../../src/exec/users.js';
import { createLogger } from '../../src/log.js';
import { ScriptTracker, type ScriptStatus } from '../../src/track/scripts.js';

const isRoot = process.getuid?.() === 0;
const needRoot = isRoot || process.env['CI'] === 'true' ? false : 'needs root (the security rule applies to scripts run as root; running as another uid)';
const loc = { file: 'keepalived.conf', line: 1, col: 1 };

function vscript(path: string, over: Partial<VrrpScript> = {}): VrrpScript {
  return {
    name: 'chk',
    command: { text: path, argv: [path], user: null, group: null, viaShell: false, loc },
    intervalMs: 200,
    timeoutMs: 2000,
    weight: -20,
    weightReverse: false,
    rise: 1,
    fall: 1,
    initFail: false,
    user: null,
    group: null,
    loc,
    ...over,
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(what: string, pred: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const asDaemon: ScriptUsers = { resolve: () => ({}) };

describe('ScriptTracker with real scripts', () => {
  let dir = '';
  const trackers: ScriptTracker[] = [];
  const leftovers: number[] = [];
  const logs: Array<{ level: number; msg: string }> = [];
  const log = createLogger({ destination: { write: (l: string) => logs.push(JSON.parse(l) as { level: number; msg: string }) } });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vipd-scripts-'));
    await chmod(dir, 0o755);
  });
  after(async () => {
    await Promise.all(trackers.map((t) => t.close()));
    for (const pid of leftovers) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  async function script(name: string, body: string, mode = 0o755): Promise<string> {
    const p = join(dir, name);
    await writeFile(p, `#!/bin/sh\n${body}\n`);
    await chmod(p, mode);
    return p;
  }

  function track(s: VrrpScript, opts: { users?: ScriptUsers; security?: boolean; killGraceMs?: number } = {}) {
    const changes: ScriptStatus[] = [];
    const t = new ScriptTracker({
      script: s,
      users: opts.users ?? asDaemon,
      log,
      scriptSecurity: opts.security ?? false,
      onStatus: (_n, st) => changes.push(st),
      ...(opts.killGraceMs !== undefined ? { killGraceMs: opts.killGraceMs } : {}),
    });
    trackers.push(t);
    t.start();
    return { t, changes };
  }

  it('follows exit 0 / exit 1 of a real script', async () => {
    const flag = join(dir, 'fail.flag');
    const p = await script('toggle.sh', `[ -e ${flag} ] && exit 1\nexit 0`);
    const { t, changes } = track(vscript(p));
    await waitFor('OK', () => t.status() === 'ok');
    await writeFile(flag, '');
    await waitFor('failing', () => t.status() === 'failing');
    await unlink(flag);
    await waitFor('OK again', () => t.status() === 'ok');
    assert.deepEqual(changes, ['ok', 'failing', 'ok']);
    assert.equal(t.info().lastExitCode, 0);
    await t.close();
  });

  it('kills a script that hangs at the timeout and counts it as a failure; nothing is left running', async () => {
    const pidFile = join(dir, 'hang.pid');
    const p = await script('hang.sh', `echo $$ > ${pidFile}\nexec sleep 1000`);
    const { t, changes } = track(vscript(p, { intervalMs: 5000, timeoutMs: 300 }), { killGraceMs: 300 });
    await waitFor('the timeout', () => t.info().timeouts === 1);
    assert.deepEqual(changes, ['failing']);
    assert.equal(t.info().lastOutcome, 'timed out after 300 ms');
    const pid = Number(await readFile(pidFile, 'utf8'));
    leftovers.push(pid);
    assert.equal(alive(pid), false);
    await t.close();
  });

  it('drains an output flood, keeps a short excerpt, and carries on', async () => {
    const p = await script('flood.sh', 'yes "this is a very chatty health check" | head -c 10000000\nexit 0');
    const { t } = track(vscript(p, { intervalMs: 300, timeoutMs: 20_000 }));
    await waitFor('two runs', () => t.info().runs >= 2, 30_000);
    const info = t.info();
    assert.equal(info.status, 'ok');
    assert.ok((info.lastOutput?.length ?? 0) <= 256, `excerpt is ${info.lastOutput?.length}`);
    assert.ok(info.lastOutput?.startsWith('this is a very chatty health check'));
    await t.close();
  });

  it('a forked child that outlives its script does not hold the tracker up', async () => {
    const pids = join(dir, 'bg.pids');
    const p = await script('bg.sh', `sleep 30 &\necho $! >> ${pids}\nexit 0`);
    const { t } = track(vscript(p, { intervalMs: 200, timeoutMs: 5000 }));
    await waitFor('three runs', () => t.info().runs >= 3);
    await t.close();
    const children = (await readFile(pids, 'utf8')).trim().split('\n').map(Number);
    leftovers.push(...children);
    assert.equal(t.info().status, 'ok');
    assert.equal(t.info().skipped, 0, 'each run ended with its script, not with its child');
  });

  it('close() kills a script that is still running', async () => {
    const pidFile = join(dir, 'close.pid');
    const p = await script('close.sh', `echo $$ > ${pidFile}\nexec sleep 1000`);
    const { t } = track(vscript(p, { timeoutMs: 60_000 }));
    let pid = 0;
    await waitFor('the script to start', async () => {
      pid = Number(await readFile(pidFile, 'utf8').catch(() => '0'));
      return pid > 0;
    });
    leftovers.push(pid);
    await t.close();
    await waitFor('the script to be gone', () => !alive(pid), 5000);
    assert.equal(t.status(), 'unknown', 'a killed run is no result');
  });

  it('a file without x bits is a failure with a clear reason, and never started', async () => {
    const marker = join(dir, 'noexec.ran');
    const p = await script('noexec.sh', `touch ${marker}`, 0o644);
    const { t, changes } = track(vscript(p));
    await waitFor('failing', () => t.status() === 'failing');
    assert.deepEqual(changes, ['failing']);
    assert.match(t.info().problem ?? '', /not executable/);
    assert.equal(await readFile(marker).then(() => true, () => false), false);
    await t.close();
  });

  it('a script without #! runs through /bin/sh (execvp fallback, like keepalived with libmagic)', async () => {
    const p = join(dir, 'noshebang.sh');
    await writeFile(p, 'exit 0\n');
    await chmod(p, 0o755);
    const { t } = track(vscript(p));
    await waitFor('OK', () => t.status() === 'ok');
    await t.close();
  });

  it('enable_script_security refuses a world-writable script that would run as root, and names it', { skip: needRoot }, async () => {
    const marker = join(dir, 'insecure.ran');
    const p = await script('insecure.sh', `touch ${marker}\nexit 0`, 0o757);
    const { t, changes } = track(vscript(p), { security: true });
    await waitFor('failing', () => t.status() === 'failing');
    assert.deepEqual(changes, ['failing']);
    assert.match(t.info().problem ?? '', new RegExp(`refusing to run ${p} as root: ${p} is writable by everyone`));
    assert.ok(logs.some((l) => l.msg.includes(`refusing to run ${p}`)));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await readFile(marker).then(() => true, () => false), false, 'the script never ran');
    await t.close();
  });

  it('runs as `user` (nobody) when configured', { skip: needRoot }, async () => {
    const users = scriptUsersFrom(parseUserDb('nobody:x:65534:65534::/:/bin/false\n', 'nogroup:x:65534:\n'), null);
    const p = await script('whoami.sh', 'id -u');
    const { t } = track(vscript(p, { user: 'nobody' }), { users, security: true });
    await waitFor('a run', () => t.info().runs >= 1);
    assert.equal(t.info().lastOutput, '65534');
    assert.equal(t.status(), 'ok');
    await t.close();
  });
});
