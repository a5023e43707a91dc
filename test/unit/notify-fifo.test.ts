// notify_fifo / vrrp_notify_fifo with real FIFOs and real reader processes (cat, a
// fifo script): creation, never blocking without a reader, full pipes, readers that
// come and go, the fifo script, the Notifier's line format, reload.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, lstat, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import type { Command, NotifyFifo, NotifyScripts } from '../../src/config/model.js';
import { parseUserDb, scriptUsersFrom, type ScriptUsers } from '../../src/exec/users.js';
import { createLogger } from '../../src/log.js';
import { FifoWriter, NotifyFifos, type FifoMode, type FifoWriterOptions } from '../../src/notify/fifo.js';
import { Notifier } from '../../src/notify/notifier.js';

const isRoot = process.getuid?.() === 0;
const needRoot = isRoot || process.env['CI'] === 'true' ? false : 'needs root to chown the FIFO';
const loc = { file: 'keepalived.conf', line: 1, col: 1 };
const asDaemon: ScriptUsers = { resolve: () => ({}) };
const log = createLogger({ destination: { write: () => undefined } });

async function waitFor(what: string, pred: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Reader {
  readonly lines: string[];
  readonly proc: ChildProcess;
  readonly exited: Promise<void>;
}

const readers: ChildProcess[] = [];
function reader(path: string): Reader {
  const proc = spawn('cat', [path], { stdio: ['ignore', 'pipe', 'ignore'] });
  readers.push(proc);
  const lines: string[] = [];
  createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on('line', (l) => lines.push(l));
  const exited = new Promise<void>((r) => proc.on('exit', () => r()));
  return { lines, proc, exited };
}

describe('FifoWriter', () => {
  let dir = '';
  let n = 0;
  const writers: FifoWriter[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vipd-fifo-'));
    await chmod(dir, 0o755);
  });
  after(async () => {
    await Promise.all(writers.map((w) => w.close()));
    for (const r of readers) r.kill('SIGKILL');
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  function fifoConf(over: Partial<NotifyFifo> = {}): NotifyFifo {
    return { path: join(dir, `fifo${++n}`), script: null, user: null, group: null, loc, ...over };
  }

  async function writer(fifo: NotifyFifo, mode?: FifoMode, over: Partial<FifoWriterOptions> = {}): Promise<FifoWriter> {
    const w = new FifoWriter({ fifo, keyword: 'notify_fifo', users: asDaemon, log, ...(mode ? { mode } : {}), ...over });
    writers.push(w);
    await w.start();
    return w;
  }

  it('creates a missing FIFO (mode 0644) and removes it again on close', async () => {
    const f = fifoConf();
    const w = await writer(f);
    const st = await lstat(f.path);
    assert.ok(st.isFIFO());
    assert.equal(st.mode & 0o777, 0o644);
    assert.equal(w.stats().created, true);
    await w.close();
    await assert.rejects(lstat(f.path), { code: 'ENOENT' });
    await w.close(); // twice is fine
  });

  it('uses an existing FIFO and leaves it in place on close', async () => {
    const f = fifoConf();
    const mk = spawn('mkfifo', [f.path]);
    await new Promise((r) => mk.on('exit', r));
    const w = await writer(f);
    assert.equal(w.stats().created, false);
    await w.close();
    assert.ok((await lstat(f.path)).isFIFO());
  });

  it('refuses a path that is a regular file instead of writing into it', async () => {
    const f = fifoConf();
    await writeFile(f.path, 'precious\n');
    const w = await writer(f);
    w.write('INSTANCE "VI_1" MASTER 150');
    assert.equal(await readFile(f.path, 'utf8'), 'precious\n');
    assert.match(w.stats().problem ?? '', /exists and is not a FIFO/);
    assert.equal(w.stats().dropped.error, 1);
    await w.close();
  });

  describe("'keepalived' mode (O_RDWR, the default)", () => {
    it('never blocks without a reader; a reader that comes later gets the lines, in order', async () => {
      const f = fifoConf();
      const w = await writer(f);
      const t0 = performance.now();
      for (let i = 0; i < 20; i++) w.write(`INSTANCE "VI_${i}" BACKUP 100`);
      assert.ok(performance.now() - t0 < 100, 'write() returns at once');
      await waitFor('lines written', () => w.stats().written === 20);
      const r = reader(f.path);
      await waitFor('20 lines read', () => r.lines.length === 20);
      assert.deepEqual(r.lines, Array.from({ length: 20 }, (_, i) => `INSTANCE "VI_${i}" BACKUP 100`));
      w.write('INSTANCE "VI_1" MASTER 150');
      await waitFor('one more', () => r.lines.length === 21);
      assert.equal(w.stats().dropped.noReader, 0);
      await w.close();
      await r.exited; // our end closed: the reader sees EOF
    });

    it('drops (and counts) lines once the pipe is full, without blocking', async () => {
      const f = fifoConf();
      const w = await writer(f, 'keepalived', { maxQueue: 100_000 });
      const line = 'INSTANCE "VI_1" MASTER 150'; // 27 bytes with the newline
      for (let i = 0; i < 10_000; i++) w.write(line);
      await waitFor('all attempted', () => w.stats().written + w.stats().dropped.full === 10_000, 30_000);
      const s = w.stats();
      assert.ok(s.dropped.full > 0, 'some were dropped');
      assert.ok(s.written * 27 <= 1024 * 1024 && s.written > 100, `written ${s.written}`);
      await w.close();
    });
  });

  describe("'drop' mode (O_WRONLY)", () => {
    it('with nobody reading, nothing blocks and lines are counted as dropped', async () => {
      const f = fifoConf();
      const w = await writer(f, 'drop');
      for (let i = 0; i < 5; i++) w.write(`INSTANCE "VI_1" BACKUP ${i}`);
      await waitFor('5 dropped', () => w.stats().dropped.noReader === 5);
      assert.equal(w.stats().written, 0);
      assert.equal(w.stats().open, false);
      await w.close();
    });

    it('a reader that appears later gets the lines from then on; one that leaves and comes back too', async () => {
      const f = fifoConf();
      const w = await writer(f, 'drop');
      w.write('lost before any reader');
      await waitFor('dropped', () => w.stats().dropped.noReader === 1);

      const ping = async (r: Reader): Promise<void> => {
        // cat is in open() only some time after spawn: ping until a line arrives.
        for (let i = 0; !r.lines.some((l) => l.startsWith('ping')); i++) {
          if (i > 500) throw new Error('the reader never got a line');
          w.write(`ping ${i}`);
          await new Promise((res) => setTimeout(res, 20));
        }
      };
      const r1 = reader(f.path);
      await ping(r1);
      w.write('INSTANCE "VI_1" MASTER 150');
      w.write('GROUP "G" MASTER 0');
      await waitFor('both lines', () => r1.lines.includes('GROUP "G" MASTER 0'));
      assert.deepEqual(r1.lines.filter((l) => !l.startsWith('ping')), ['INSTANCE "VI_1" MASTER 150', 'GROUP "G" MASTER 0']);
      assert.equal(r1.lines.includes('lost before any reader'), false);

      r1.proc.kill('SIGKILL');
      await r1.exited;
      const dropped = w.stats().dropped.noReader;
      w.write('INSTANCE "VI_1" BACKUP 100'); // EPIPE: counted, the FIFO is re-opened later
      await waitFor('EPIPE counted', () => w.stats().dropped.noReader === dropped + 1);

      const r2 = reader(f.path);
      await ping(r2);
      w.write('INSTANCE "VI_1" FAULT 100');
      await waitFor('the line after the comeback', () => r2.lines.includes('INSTANCE "VI_1" FAULT 100'));
      await w.close();
    });
  });

  it('starts the fifo script with the FIFO path as its last argument and stops it on close', async () => {
    const out = join(dir, 'script.out');
    const argsOut = join(dir, 'script.args');
    const script = join(dir, 'reader.sh');
    await writeFile(script, `#!/bin/sh\necho "$@" > ${argsOut}\nexec cat "$2" > ${out}\n`);
    await chmod(script, 0o755);
    const cmd: Command = { text: `${script} --fifo`, argv: [script, '--fifo'], user: null, group: null, viaShell: false, loc };
    const f = fifoConf({ script: cmd });
    const w = await writer(f);
    w.write('INSTANCE "VI_1" MASTER 150');
    await waitFor('the script to get the line', async () => (await readFile(out, 'utf8').catch(() => '')) === 'INSTANCE "VI_1" MASTER 150\n');
    assert.equal((await readFile(argsOut, 'utf8')).trim(), `--fifo ${f.path}`);
    const pid = w.stats().script?.pid ?? 0;
    assert.ok(pid > 0);
    assert.equal(w.stats().script?.running, true);
    await w.close();
    assert.equal(w.stats().script?.running, false);
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
  });

  it('gives the FIFO to its user', { skip: needRoot }, async () => {
    const users = scriptUsersFrom(parseUserDb('nobody:x:65534:65534::/:/bin/false\n', 'nogroup:x:65534:\n'), null);
    const f = fifoConf({ user: 'nobody' });
    const w = await writer(f, undefined, { users });
    const st = await stat(f.path);
    assert.equal(st.uid, 65534);
    assert.equal(st.gid, 65534);
    await w.close();
  });

  it("carries the Notifier's lines: INSTANCE \"VI_1\" MASTER 150, GROUP \"G\" BACKUP 0", async () => {
    const f = fifoConf();
    const w = await writer(f);
    const none: NotifyScripts = { master: null, backup: null, fault: null, stop: null, any: null, masterRxLowerPri: null };
    const notifier = new Notifier({ log, users: asDaemon, fifos: [w] });
    notifier.notify({ kind: 'INSTANCE', name: 'VI_1', scripts: none }, 'MASTER', 150);
    notifier.notify({ kind: 'GROUP', name: 'G', scripts: none }, 'BACKUP', 0);
    const r = reader(f.path);
    await waitFor('two lines', () => r.lines.length === 2);
    assert.deepEqual(r.lines, ['INSTANCE "VI_1" MASTER 150', 'GROUP "G" BACKUP 0']);
    await w.close();
  });

  it('counts writes after close as dropped', async () => {
    const w = await writer(fifoConf());
    await w.close();
    w.write('late');
    assert.equal(w.stats().dropped.error, 1);
  });
});

describe('NotifyFifos (the daemon-facing set)', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vipd-fifos-'));
  });
  after(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('starts both FIFOs, keeps unchanged ones on reload, replaces changed ones, closes removed ones', async () => {
    const created: FifoWriter[] = [];
    const set = new NotifyFifos({
      users: asDaemon,
      log,
      create: (o) => {
        const w = new FifoWriter(o);
        created.push(w);
        return w;
      },
    });
    const a: NotifyFifo = { path: join(dir, 'all'), script: null, user: null, group: null, loc };
    const v: NotifyFifo = { path: join(dir, 'vrrp'), script: null, user: null, group: null, loc };
    await set.configure({ notifyFifo: a, vrrpNotifyFifo: v, enableScriptSecurity: false });
    assert.equal(created.length, 2);
    assert.deepEqual(set.stats().map((s) => s.keyword).sort(), ['notify_fifo', 'vrrp_notify_fifo']);

    // A line goes to both.
    const ra = reader(a.path);
    const rv = reader(v.path);
    set.write('INSTANCE "VI_1" MASTER 150');
    await waitFor('both readers', () => ra.lines.length === 1 && rv.lines.length === 1);

    // Same config, other source location: kept (same writer, same FIFO, reader undisturbed).
    await set.configure({ notifyFifo: { ...a, loc: { ...loc, line: 9 } }, vrrpNotifyFifo: v, enableScriptSecurity: false });
    assert.equal(created.length, 2);

    // vrrp_notify_fifo moves, notify_fifo goes away.
    const v2: NotifyFifo = { ...v, path: join(dir, 'vrrp2') };
    await set.configure({ notifyFifo: null, vrrpNotifyFifo: v2, enableScriptSecurity: false });
    assert.equal(created.length, 3);
    await assert.rejects(lstat(a.path), { code: 'ENOENT' });
    await assert.rejects(lstat(v.path), { code: 'ENOENT' });
    assert.ok((await lstat(v2.path)).isFIFO());
    await ra.exited;
    await rv.exited;

    await set.close();
    await assert.rejects(lstat(v2.path), { code: 'ENOENT' });
    assert.deepEqual(set.stats(), []);
  });
});
