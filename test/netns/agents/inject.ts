/**
 * The hostile host's sender (test/helpers/injector.ts drives it): whole Ethernet frames
 * through the project's AF_PACKET addon, so nothing of the frame is the kernel's choice.
 *
 *   ip netns exec <ns> node dist/test/netns/agents/inject.js [ifname]
 * stdin:  {"id":1,"op":"send","frames":["<hex>",...],"gapMs":0}
 *         {"id":2,"op":"flood","frames":[...],"pps":10000,"durationMs":10000,"spoof":{"base":"10.10.16.0","count":4096}}
 * stdout: {"id":1,"ok":true,"result":...} | {"id":1,"ok":false,"error":"..."}; {"event":"ready"} first.
 */
import { createInterface } from 'node:readline';
import { errnoName, loadNative } from '../../../src/net/native.js';
import { internetChecksum } from '../../../src/protocol/checksum.js';

const ifname = process.argv[2] ?? 'eth0';
const native = loadNative();
const ifindex = native.ifNameToIndex(ifname);
if (ifindex === 0) {
  process.stderr.write(`no interface ${ifname}\n`);
  process.exit(1);
}
const fd = native.packetOpen();
const ETH = 14;

function emit(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function frames(a: Record<string, unknown>): Buffer[] {
  const list = a['frames'];
  if (!Array.isArray(list) || list.length === 0 || !list.every((x) => typeof x === 'string')) throw new Error('frames must be hex strings');
  return list.map((h) => Buffer.from(h as string, 'hex'));
}

/** One frame out; false when the queue refused it (EAGAIN/ENOBUFS under a flood). */
function sendOne(frame: Buffer): boolean {
  try {
    native.packetSend(fd, ifindex, frame);
    return true;
  } catch (err) {
    const code = errnoName(err);
    if (code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'ENOBUFS') return false;
    throw err;
  }
}

function ipv4Number(addr: string): number {
  return addr.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

/** Rewrites the IPv4 source of an Ethernet+IPv4 frame in place and fixes the header checksum. */
function spoofSource(frame: Buffer, src: number): void {
  frame.writeUInt32BE(src >>> 0, ETH + 12);
  frame.writeUInt16BE(0, ETH + 10);
  frame.writeUInt16BE(internetChecksum(frame.subarray(ETH, ETH + (((frame[ETH] as number) & 0x0f) * 4))), ETH + 10);
}

const ops: Record<string, (a: Record<string, unknown>) => unknown> = {
  send: async (a) => {
    const gap = typeof a['gapMs'] === 'number' ? a['gapMs'] : 0;
    let sent = 0;
    for (const f of frames(a)) {
      // A single frame must leave: retry briefly if the queue is full.
      for (let tries = 0; !sendOne(f); tries++) {
        if (tries > 100) throw new Error('send queue stays full');
        await sleep(1);
      }
      sent++;
      if (gap > 0) await sleep(gap);
    }
    return sent;
  },
  flood: async (a) => {
    const list = frames(a);
    const pps = Number(a['pps']);
    const durationMs = Number(a['durationMs']);
    if (!(pps > 0 && durationMs > 0)) throw new Error('pps and durationMs must be positive');
    const spoof = a['spoof'] as { base: string; count: number } | null;
    const base = spoof ? ipv4Number(spoof.base) : 0;
    const count = spoof ? Math.max(1, spoof.count) : 1;
    let sent = 0;
    let failed = 0;
    let i = 0;
    const t0 = performance.now();
    for (;;) {
      const elapsed = performance.now() - t0;
      if (elapsed >= durationMs) break;
      // Catch up to the schedule in small batches, then yield: a 1 ms timer keeps the rate
      // without spinning a core the daemons under test need.
      const due = Math.floor((pps * elapsed) / 1000) + 1;
      let batch = 0;
      while (sent + failed < due && batch < 500) {
        const f = list[i % list.length] as Buffer;
        if (spoof) spoofSource(f, base + (i % count));
        i++;
        if (sendOne(f)) sent++;
        else failed++;
        batch++;
      }
      await sleep(1);
    }
    return { sent, failed, elapsedMs: Math.round(performance.now() - t0) };
  },
  exit: () => {
    setImmediate(shutdown);
    return true;
  },
};

function shutdown(): void {
  native.fdClose(fd);
  process.exit(0);
}

createInterface({ input: process.stdin })
  .on('line', (line) => {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const id = msg['id'];
    const op = typeof msg['op'] === 'string' ? ops[msg['op']] : undefined;
    if (!op) {
      emit({ id, ok: false, error: `unknown op ${String(msg['op'])}` });
      return;
    }
    Promise.resolve()
      .then(() => op(msg))
      .then(
        (result) => emit({ id, ok: true, result: result ?? null }),
        (err: unknown) => emit({ id, ok: false, error: err instanceof Error ? err.message : String(err) }),
      );
  })
  .on('close', shutdown);
emit({ event: 'ready', ifindex });
