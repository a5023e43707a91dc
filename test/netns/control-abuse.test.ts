/**
 * Issue 7: the control socket of a running vipd under abuse. Only root may connect (the
 * directory alone keeps others out, whatever the socket file's mode); malformed and
 * oversized requests get one error line and the daemon closes the connection itself;
 * 1 000 clients at once, and a client that pipelines requests without reading answers,
 * leave the daemon up, its memory bounded and vipctl working.
 * (daemon-control.test.ts checks the modes and vipctl as nobody; this adds the rest.)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { StatusDocument } from '../../src/control/status.js';
import { Lan, netnsSkip } from '../helpers/netns.js';
import { sleep, vipctl, VipdHost, vrrpConf, waitUntil } from '../helpers/vipd.js';

async function rssKb(pid: number): Promise<number> {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

interface Exchange {
  /** Lines the daemon wrote. */
  readonly lines: string[];
  /** How the connection ended: 'end' (the daemon closed it), an errno, or 'timeout'. */
  readonly ended: string;
  readonly ms: number;
}

/**
 * Connects, writes `text`, and never closes its own side (allowHalfOpen): the connection
 * only ends if the daemon ends it. Gives up after `timeoutMs`.
 */
function exchange(path: string, text: string | Buffer, timeoutMs = 5000, opts: { untilLine?: boolean } = {}): Promise<Exchange> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const s: Socket = createConnection({ path, allowHalfOpen: true });
    let buf = '';
    let ended: string | null = null;
    const done = (why: string): void => {
      ended ??= why;
      clearTimeout(timer);
      s.destroy();
      resolve({ lines: buf.split('\n').filter(Boolean), ended, ms: performance.now() - t0 });
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      // A well-formed request leaves the connection open for more: stop at the first answer.
      if (opts.untilLine === true && buf.includes('\n')) done('answer');
    });
    s.on('end', () => done('end'));
    s.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
    s.on('connect', () => s.write(text));
  });
}

function run(file: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, [...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

describe('the control socket of a running vipd under abuse', { skip: netnsSkip() }, () => {
  let lan: Lan;
  let dir: string;
  let h1: VipdHost;
  let pid: number;

  before(async () => {
    lan = await Lan.create({ hosts: ['h1'] });
    dir = await mkdtemp(join(tmpdir(), 'vipd-ctl-abuse-'));
    await chmod(dir, 0o711); // others may pass through; only vipd's own permissions keep them out
    h1 = await VipdHost.start(
      lan,
      'h1',
      dir,
      vrrpConf({ routerId: 'h1', instances: [{ name: 'VI_1', state: 'MASTER', vrid: 51, priority: 150, vips: [`${lan.addr(100)}/24`] }] }),
      { socket: join(dir, 'run', 'vipd.sock') },
    );
    await h1.waitForState('VI_1', 'MASTER');
    pid = (await h1.status()).pid;
  });

  after(async () => {
    await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const assertAnswers = async (): Promise<void> => {
    assert.ok(h1.running, `vipd exited\n${h1.tail()}`);
    const r = await vipctl(['--socket', h1.socket, 'status', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as StatusDocument).instances[0]?.state, 'MASTER');
  };

  test('socket and directory belong to root; the 0700 directory alone keeps a non-root user out', async () => {
    const [s, d] = [await stat(h1.socket), await stat(dirname(h1.socket))];
    assert.deepEqual([s.uid, s.gid, s.mode & 0o777], [0, 0, 0o600]);
    assert.deepEqual([d.uid, d.gid, d.mode & 0o777], [0, 0, 0o700]);
    // Even a socket file opened to everyone (a careless chmod) stays out of reach.
    await chmod(h1.socket, 0o666);
    try {
      const js = `const s=require('net').createConnection(process.argv[1]);s.on('connect',()=>{console.log('CONNECTED');s.destroy()});s.on('error',e=>{console.log(e.code);process.exitCode=3})`;
      const r = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, '-e', js, h1.socket]);
      assert.equal(r.stdout.trim(), 'EACCES', r.stderr);
      assert.equal(r.code, 3);
    } finally {
      await chmod(h1.socket, 0o600);
    }
    await assertAnswers();
  });

  test('malformed requests get one error line and the daemon closes the connection', async () => {
    const cases: Array<string | Buffer> = [
      'not json\n',
      '[1,2]\n',
      'null\n',
      '"status"\n',
      '{"cmd":"shutdown"}\n',
      '{"cmd":["status"]}\n',
      '{"cmd":"status"\n',
      `${'['.repeat(2000)}${']'.repeat(2000)}\n`,
      Buffer.from([0xff, 0xfe, 0x00, 0x0a]),
      '{"cmd":"status"}\u0000\n',
      '{"__proto__":{"cmd":"reload"}}\n',
    ];
    for (const c of cases) {
      const r = await exchange(h1.socket, c);
      const what = JSON.stringify(String(c).slice(0, 40));
      assert.equal(r.ended, 'end', `${what}: the daemon did not close the connection (${r.ended})`);
      assert.equal(r.lines.length, 1, `${what}: ${JSON.stringify(r.lines)}`);
      const res = JSON.parse(r.lines[0] as string) as { ok: boolean; error?: { code: string; message: string } };
      assert.equal(res.ok, false, what);
      assert.equal(res.error?.code, 'ECONTROL', what);
    }
    await assertAnswers();
  });

  test('a request after a malformed one on the same connection is not run', async () => {
    const r = await exchange(h1.socket, 'bogus\n{"cmd":"reload"}\n');
    assert.equal(r.ended, 'end');
    assert.equal(r.lines.length, 1, JSON.stringify(r.lines));
    assert.match(r.lines[0] as string, /not valid JSON/);
  });

  test('an oversized request is refused before it ends, and the connection closed', async () => {
    // 1 MiB without a newline: the daemon must not wait for (or keep) the rest.
    const r = await exchange(h1.socket, Buffer.alloc(1 << 20, 0x61));
    assert.ok(r.ended === 'end' || r.ended === 'EPIPE' || r.ended === 'ECONNRESET', r.ended);
    assert.equal(r.lines.length, 1, JSON.stringify(r.lines));
    assert.match(r.lines[0] as string, /"ok":false.*longer than 4096 bytes/);
    await assertAnswers();
  });

  test('clients that leave their side open after an error do not hold the daemon\'s slots', async () => {
    // 100 malformed requests, each connection left half-open: if the daemon only
    // half-closed them, they would fill its 64 client slots until the idle timeout.
    const held: Socket[] = [];
    try {
      await Promise.all(
        Array.from({ length: 100 }, () =>
          new Promise<void>((resolve) => {
            const s = createConnection({ path: h1.socket, allowHalfOpen: true });
            held.push(s);
            const timer = setTimeout(() => resolve(), 5000);
            const done = (): void => {
              clearTimeout(timer);
              resolve();
            };
            s.on('error', done);
            s.on('end', done);
            s.on('close', done);
            s.on('connect', () => s.write('oops\n'));
          }),
        ),
      );
      await assertAnswers();
    } finally {
      for (const s of held) s.destroy();
    }
  });

  test('1 000 clients at once: each gets an answer or a clear "busy" error; the daemon stays up', async (t) => {
    const before = await rssKb(pid);
    const results = await Promise.all(Array.from({ length: 1000 }, () => exchange(h1.socket, '{"cmd":"status"}\n', 15_000, { untilLine: true })));
    const tally: Record<string, number> = {};
    for (const r of results) {
      const first = r.lines[0] ?? '';
      const kind = /^\{"ok":true/.test(first) ? 'answered' : /"EBUSY"/.test(first) ? 'busy' : `other (${r.ended}: ${first.slice(0, 60)})`;
      tally[kind] = (tally[kind] ?? 0) + 1;
    }
    const after = await rssKb(pid);
    t.diagnostic(`1000 clients: ${JSON.stringify(tally)}; slowest ${Math.round(Math.max(...results.map((r) => r.ms)))} ms; RSS ${before} -> ${after} kB`);
    assert.equal((tally['answered'] ?? 0) + (tally['busy'] ?? 0), 1000, JSON.stringify(tally));
    assert.ok((tally['answered'] ?? 0) >= 32, JSON.stringify(tally));
    assert.ok(results.every((r) => r.ended !== 'timeout'), 'every client was answered or turned away');
    assert.ok(after - before < 40 * 1024, `RSS grew by ${after - before} kB`);
    await assertAnswers();
  });

  test('a client that pipelines requests and never reads cannot make the daemon buffer answers without end', async (t) => {
    const before = await rssKb(pid);
    // 120 000 requests (2 MB) whose answers (~1.5 kB each, 180 MB) are never read.
    const line = '{"cmd":"status"}\n';
    const s = createConnection({ path: h1.socket });
    s.on('error', () => undefined);
    await new Promise<void>((resolve) => s.on('connect', () => resolve()));
    s.pause();
    s.write(line.repeat(120_000));
    await sleep(3000);
    const during = await rssKb(pid);
    await assertAnswers(); // others are still served meanwhile
    s.destroy();
    await waitUntil(async () => (await rssKb(pid)) - before < 40 * 1024, 'memory back', 10_000);
    t.diagnostic(`RSS ${before} kB before, ${during} kB with 120 000 unread answers requested`);
    assert.ok(during - before < 40 * 1024, `RSS grew by ${during - before} kB`);
  });
});
