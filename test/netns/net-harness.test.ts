/**
 * The test harness itself: the native addon is built and loads (CI runs `npm ci`
 * first, which builds it through binding.gyp), and the netns LAN cleans up after
 * itself even when a test process dies, while leftovers of a killed run never break
 * a new one.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { loadNative } from '../../src/net/native.js';
import { Lan, netnsSkip } from '../helpers/netns.js';

const here = dirname(fileURLToPath(import.meta.url));
const CHILD = join(here, 'agents', 'lan-child.js');
const ROOT = join(here, '..', '..', '..');

function nsExists(ns: string): boolean {
  return existsSync(`/run/netns/${ns}`);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    assert.ok(Date.now() < deadline, what);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts lan-child.js in `mode`; resolves with the child and what it reported. */
async function startChild(mode: string): Promise<{
  child: ReturnType<typeof spawn>;
  info: { namespaces: string[]; pid: number; sleeper: number };
  exited: Promise<number | null>;
}> {
  const child = spawn(process.execPath, [CHILD, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', () => reject(new Error('lan-child exited before reporting')));
  });
  return { child, info: JSON.parse(line), exited };
}

test('the native addon is built by binding.gyp and loads', () => {
  assert.ok(existsSync(join(ROOT, 'build', 'Release', 'vipd_native.node')), 'build/Release/vipd_native.node (npm ci builds it)');
  const native = loadNative();
  assert.equal(native.ifNameToIndex('lo'), 1);
  assert.equal(native.ifIndexToName(1), 'lo');
  assert.equal(native.ifNameToIndex('no-such-if'), 0);
  assert.equal(native.ifIndexToName(0x7fffffff), null);
  const fd = native.packetOpen();
  assert.ok(fd >= 0);
  assert.throws(() => native.packetSend(fd, 0x7fffffff, Buffer.alloc(60)), (err: Error & { errno?: number }) => {
    return typeof err.errno === 'number' && /sendto/.test(err.message);
  });
  native.fdClose(fd);
});

describe('netns LAN harness', { skip: netnsSkip() }, () => {
  const leftovers: string[] = [];

  after(async () => {
    const { execFile } = await import('node:child_process');
    for (const ns of leftovers) {
      await new Promise((r) => execFile('ip', ['netns', 'del', ns], () => r(undefined)));
    }
  });

  test('a test process that exits without destroy() leaves nothing behind', async () => {
    const { info, exited } = await startChild('exit');
    assert.equal(await exited, 0);
    for (const ns of info.namespaces) assert.equal(nsExists(ns), false, `${ns} left behind`);
    await waitUntil(() => !pidAlive(info.sleeper), 5000, 'the process spawned in h1 survived');
  });

  test('SIGTERM to a test process kills its children and deletes its namespaces', async () => {
    const { child, info, exited } = await startChild('hang');
    for (const ns of info.namespaces) assert.equal(nsExists(ns), true);
    child.kill('SIGTERM');
    await exited;
    for (const ns of info.namespaces) assert.equal(nsExists(ns), false, `${ns} left behind`);
    await waitUntil(() => !pidAlive(info.sleeper), 5000, 'the process spawned in h1 survived');
  });

  test('leftovers of a SIGKILLed run do not disturb a new LAN with the same host names', async () => {
    const { child, info, exited } = await startChild('hang');
    child.kill('SIGKILL');
    await exited;
    leftovers.push(...info.namespaces);
    for (const ns of info.namespaces) assert.equal(nsExists(ns), true, 'SIGKILL leaves the namespaces (the scenario is real)');
    process.kill(info.sleeper, 'SIGKILL');

    const lan = await Lan.create({ hosts: ['h1'] });
    try {
      assert.ok(!info.namespaces.includes(lan.host('h1').ns), 'a new run gets new names');
      assert.equal(await lan.hasAddress('h1', lan.host('h1').ipv4), true);
      // Recent leftovers are left alone: another engineer's run may still own them.
      for (const ns of info.namespaces) assert.equal(nsExists(ns), true);
    } finally {
      await lan.destroy();
      await lan.destroy(); // idempotent
    }
    for (const ns of [`${lan.id}-sw`, lan.host('h1').ns]) assert.equal(nsExists(ns), false);
  });

  test('spawned processes: lines, waitForLine, timeouts and kill', async () => {
    const lan = await Lan.create({ hosts: ['h1'] });
    try {
      const p = lan.spawn('h1', ['sh', '-c', 'echo one; echo two >&2; read x; echo "got $x"; sleep 600']);
      assert.deepEqual((await p.waitForLine(/^one$/, { stream: 'stdout' }))[0], 'one');
      await p.waitForLine(/^two$/, { stream: 'stderr' });
      await assert.rejects(p.waitForLine(/never/, { timeoutMs: 200 }), /no line matching/);
      const mark = p.mark();
      p.write('hello');
      await p.waitForLine(/^got hello$/, { after: mark });
      assert.equal(p.running, true);
      const status = await p.kill();
      assert.equal(status.signal, 'SIGTERM');
      assert.equal(p.running, false);
      await assert.rejects(lan.exec('h1', ['sh', '-c', 'echo oops >&2; exit 3']), /exit 3[\s\S]*oops/);
      assert.equal((await lan.exec('h1', ['sh', '-c', 'echo $((6*7))'])).trim(), '42');
    } finally {
      await lan.destroy();
    }
  });
});
