// Fuzzing the control socket (issue 7): the request parser, and the real server fed random
// byte streams cut at random points (JSON lines, near-misses, binary, oversized lines).
// And the script-line splitter: it decides what reaches execve, so it must never throw and
// never invent a shell. VIPD_FUZZ_SCALE=10 runs ten times as many cases.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { CONTROL_COMMANDS, MAX_REQUEST_BYTES, parseRequest, type ControlResponse } from '../../src/control/protocol.js';
import { startControlServer, type ControlServer } from '../../src/control/server.js';
import { splitCommand } from '../../src/config/values.js';

const SCALE = Math.max(1, Number(process.env['VIPD_FUZZ_SCALE'] ?? 1));
const RUNS = (n: number): fc.Parameters<unknown> => ({ numRuns: n * SCALE, interruptAfterTimeLimit: 25_000 * SCALE, markInterruptAsFailure: false });

/** Request lines: good ones, near-misses, JSON of other shapes, junk. */
const requestLine = fc.oneof(
  fc.constantFrom(...CONTROL_COMMANDS).map((cmd) => JSON.stringify({ cmd })),
  fc.constantFrom('{"cmd":"Status"}', '{"cmd":"status "}', '{"cmd":null}', '{"CMD":"status"}', '{"cmd":"status","x":1}', ' {"cmd":"stats"} ', '{"cmd":"reload"}{"cmd":"status"}'),
  fc.json({ maxDepth: 3 }),
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
);

describe('control request parser fuzzing', () => {
  it('parseRequest never throws and accepts exactly {"cmd": <known command>}', () => {
    fc.assert(
      fc.property(requestLine, (line) => {
        const r = parseRequest(line);
        if ('error' in r) {
          assert.ok(typeof r.error === 'string' && r.error.length > 0);
          return;
        }
        const v = JSON.parse(line) as Record<string, unknown>;
        assert.equal(v['cmd'], r.cmd);
        assert.ok((CONTROL_COMMANDS as readonly string[]).includes(r.cmd));
      }),
      RUNS(20_000),
    );
  });
});

describe('control server fuzzing: random streams on a real socket', () => {
  let dir: string;
  let path: string;
  let server: ControlServer;
  let handled = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vipd-fuzz-ctl-'));
    path = join(dir, 'run', 'vipd.sock');
    server = await startControlServer({
      path,
      handler: async (cmd) => {
        handled++;
        if (cmd === 'reload') throw new Error('no reload here');
        return { cmd };
      },
    });
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Writes the chunks one by one, ends, and collects every line the server wrote. */
  const talk = (chunks: readonly Buffer[]): Promise<string[]> =>
    new Promise((resolve, reject) => {
      const s = createConnection(path);
      let buf = '';
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`no end from the server: ${JSON.stringify(buf.slice(0, 200))}`));
      }, 5000);
      s.setEncoding('utf8');
      s.on('data', (d: string) => (buf += d));
      s.on('error', () => undefined); // EPIPE when the server closed first: what it wrote still counts
      s.on('close', () => {
        clearTimeout(timer);
        resolve(buf.split('\n').filter(Boolean));
      });
      s.on('connect', async () => {
        for (const c of chunks) {
          if (s.destroyed) break;
          s.write(c);
          await new Promise((r) => setImmediate(r));
        }
        s.end();
      });
    });

  it('answers in order, stops at the first bad line, and never dies', async () => {
    const stream = fc
      .record({
        lines: fc.array(
          fc.oneof(
            { weight: 6, arbitrary: requestLine },
            { weight: 1, arbitrary: fc.integer({ min: MAX_REQUEST_BYTES - 2, max: MAX_REQUEST_BYTES * 3 }).map((n) => 'x'.repeat(n)) },
          ),
          { maxLength: 12 },
        ),
        cuts: fc.array(fc.nat(), { maxLength: 6 }),
        finalNewline: fc.boolean(),
      })
      .map(({ lines, cuts, finalNewline }) => {
        const text = Buffer.from(lines.join('\n') + (finalNewline ? '\n' : ''), 'utf8');
        const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let prev = 0;
        for (const c of [...at, text.length]) {
          if (c > prev) chunks.push(text.subarray(prev, c));
          prev = c;
        }
        // What the server reads: the text as UTF-8 decodes it, in lines.
        return { parts: text.toString('utf8').split('\n'), chunks };
      });
    await fc.assert(
      fc.asyncProperty(stream, async ({ parts, chunks }) => {
        const out = (await talk(chunks)).map((l) => JSON.parse(l) as ControlResponse);
        // Complete lines are answered in order until the first bad one; the last part has no newline.
        const expected: Array<'ok' | 'error' | 'refused'> = [];
        for (const raw of parts.slice(0, -1)) {
          const line = raw.trim();
          if (line === '') continue;
          if (Buffer.byteLength(line) > MAX_REQUEST_BYTES) {
            expected.push('refused');
            break;
          }
          const r = parseRequest(line);
          if ('error' in r) {
            expected.push('refused');
            break;
          }
          expected.push(r.cmd === 'reload' ? 'error' : 'ok');
        }
        // An unterminated tail over the limit is refused without waiting for its newline.
        if (!expected.includes('refused') && Buffer.byteLength(parts.at(-1) ?? '') > MAX_REQUEST_BYTES) expected.push('refused');
        const got = out.map((r) => (r.ok ? 'ok' : r.error.code === 'ECONTROL' ? 'refused' : 'error'));
        assert.deepEqual(got, expected, JSON.stringify(out).slice(0, 500));
      }),
      RUNS(2000),
    );
    assert.ok(handled > 100, `only ${handled} requests reached the handler`);
  });
});

describe('script command-line splitting fuzzing', () => {
  it('splitCommand (what vrrp_script and notify lines become) never throws, and plain words come back as they were', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (line) => {
        const argv = splitCommand(line);
        assert.ok(argv === null || (Array.isArray(argv) && argv.every((a) => typeof a === 'string')));
      }),
      RUNS(20_000),
    );
    const word = fc.stringMatching(/^[A-Za-z0-9_./:=,+-]{1,12}$/);
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 8 }), (words) => {
        assert.deepEqual(splitCommand(words.join(' ')), words);
      }),
      RUNS(5000),
    );
  });

  it('shell syntax stays literal: $(…), backquotes, ; | & > are words, not commands', () => {
    fc.assert(
      fc.property(fc.constantFrom('$(id)', '`id`', ';', '|', '&&', '>', '<', '${HOME}', '*', '~'), fc.stringMatching(/^[a-z]{1,6}$/), (meta, w) => {
        const argv = splitCommand(`/bin/echo ${w} ${meta} ${w}`);
        assert.deepEqual(argv, ['/bin/echo', w, meta, w]);
      }),
      RUNS(500),
    );
  });
});
