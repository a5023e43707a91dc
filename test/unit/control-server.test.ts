// The control socket: JSON lines, root-only permissions, bad input answered and
// the connection closed, one daemon per socket.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from '../../src/control/client.js';
import { MAX_REQUEST_BYTES } from '../../src/control/protocol.js';
import { startControlServer, type ControlServer } from '../../src/control/server.js';
import { isVipdError } from '../../src/errors.js';

/** Sends raw text, returns every line the server wrote before it closed the connection. */
function raw(path: string, text: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (buf += d));
    s.on('error', reject);
    s.on('close', () => resolve(buf.split('\n').filter(Boolean)));
    s.on('connect', () => s.write(text));
    setTimeout(() => s.end(), 300);
  });
}

describe('control server', () => {
  let dir: string;
  let path: string;
  let server: ControlServer;
  let calls = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vipd-ctl-'));
    path = join(dir, 'run', 'vipd.sock');
    server = await startControlServer({
      path,
      handler: async (cmd) => {
        calls++;
        if (cmd === 'reload') throw new Error('reload exploded');
        return { cmd, n: calls };
      },
    });
  });
  after(async () => {
    await server.close();
    await server.close(); // twice is fine
    await rm(dir, { recursive: true, force: true });
  });

  it('the socket is 0600 in a 0700 directory', async () => {
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'run'))).mode & 0o777, 0o700);
  });

  it('answers a request, and several on one connection in order', async () => {
    assert.deepEqual(await request(path, 'status'), { cmd: 'status', n: calls });
    const lines = await raw(path, '{"cmd":"status"}\n{"cmd":"stats"}\n');
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { data: { cmd: string } }).data.cmd),
      ['status', 'stats'],
    );
  });

  it('a handler that throws becomes an error answer; the server stays up', async () => {
    await assert.rejects(request(path, 'reload'), (err: unknown) => isVipdError(err, 'ECONTROL') && /reload exploded/.test(String(err)));
    assert.ok(await request(path, 'status'));
  });

  it('malformed and unknown requests get an error and the connection is closed', async () => {
    for (const bad of ['not json\n', '[1,2]\n', '{"cmd":"shutdown"}\n', '{}\n']) {
      const lines = await raw(path, bad + '{"cmd":"status"}\n');
      assert.equal(lines.length, 1, `only the error for ${JSON.stringify(bad)}`);
      const res = JSON.parse(lines[0] ?? '{}') as { ok: boolean; error: { code: string } };
      assert.equal(res.ok, false);
      assert.equal(res.error.code, 'ECONTROL');
    }
  });

  it('an oversized request is refused without waiting for its end', async () => {
    const lines = await raw(path, 'x'.repeat(MAX_REQUEST_BYTES * 4));
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /longer than/);
  });

  it('a second daemon on the same socket is refused', async () => {
    await assert.rejects(
      startControlServer({ path, handler: async () => null }),
      (err: unknown) => isVipdError(err, 'ECONTROL') && /already running/.test(String(err)),
    );
    assert.ok(await request(path, 'status'), 'the first one still answers');
  });

  it('a stale socket file left by a crash is replaced', async () => {
    const stale = join(dir, 'stale.sock');
    // A process that listens and then dies by SIGKILL leaves its socket file behind.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => console.log('up'))`]);
    await new Promise<void>((r) => child.stdout.once('data', () => r()));
    child.kill('SIGKILL');
    await new Promise<void>((r) => child.once('exit', () => r()));
    assert.ok((await stat(stale)).isSocket(), 'the stale socket file is there');
    const srv = await startControlServer({ path: stale, handler: async () => 'fresh' });
    assert.equal(await request(stale, 'status'), 'fresh');
    await srv.close();
  });

  it('a client gets a clear error when no daemon runs', async () => {
    await assert.rejects(request(join(dir, 'nobody.sock'), 'status'), /is vipd running\?/);
  });
});
