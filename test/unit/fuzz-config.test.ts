// Fuzzing the config parser (issue 7) with structure-aware mutations of the real configs
// in test/fixtures/configs (the seeds' and keepalived's samples): lines deleted, doubled,
// swapped and spliced in from another file; tokens replaced by other configs' tokens or
// by edge values. config-property.test.ts throws token soups at it; this starts from
// files that work, so the mutants get deep into the builder.
//
// What must hold: no exception ever; every diagnostic points inside the text; and a config
// the parser accepts can be run — every instance's advert encodes and the state machine's
// timers are finite — because that is what the daemon does next with it.
// VIPD_FUZZ_SCALE=10 runs ten times as many cases (for a longer local campaign).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { lintCluster, parseConfigText, type Config } from '../../src/config/index.js';
import { authDataFromPassword, canonicalAddress, encode, type Advert } from '../../src/protocol/index.js';
import { instanceParams } from '../../src/runtime/params.js';
import { createInstance, masterDownIntervalMs, step, type InstanceState, type VrrpAction, type VrrpEvent } from '../../src/vrrp/index.js';

const SCALE = Math.max(1, Number(process.env['VIPD_FUZZ_SCALE'] ?? 1));
/** Bounded in CI: the run count is tuned to ~10 s here, the time limit caps a slow machine. */
const RUNS = (n: number): fc.Parameters<unknown> => ({ numRuns: n * SCALE, interruptAfterTimeLimit: 25_000 * SCALE, markInterruptAsFailure: false });

const CONFIG_DIR = fileURLToPath(new URL('../../../test/fixtures/configs/', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? files(p) : [p];
    });
}

/** Every config of the fixtures (good, broken, seeds, keepalived's samples). */
const CORPUS: readonly string[] = files(CONFIG_DIR)
  .filter((p) => !p.endsWith('.txt'))
  .map((p) => readFileSync(p, 'utf8'));

const TOKENS: readonly string[] = [...new Set(CORPUS.flatMap((t) => t.split(/\s+/)).filter((w) => w.length > 0 && w.length < 60))].sort();

/** Values at the edges of what the builder checks. */
const EDGES = [
  '0', '1', '-1', '254', '255', '256', '65535', '65536', '4294967296', '1e3', '1e309', 'NaN', 'Infinity', '0x10', '010',
  '0.001', '0.01', '0.5', '2.5', '40.95', '40.96', '255.5', '-0', '+1', '',
  '0.0.0.0', '255.255.255.255', '224.0.0.18', '10.0.0.1/33', '10.0.0.1/-1', '::', '::1/129', 'ff02::12', 'fe80::1%eth0',
  '"', "'", '{', '}', '!', '#', '\\', '$', '@', '"a b"', '\u0000', '\u00e9', '\u{1F600}',
];

type Op =
  | { kind: 'deleteLine'; at: number }
  | { kind: 'dupLine'; at: number }
  | { kind: 'swapLines'; a: number; b: number }
  | { kind: 'splice'; from: number; start: number; len: number; at: number }
  | { kind: 'replaceToken'; at: number; token: string }
  | { kind: 'insertToken'; at: number; token: string }
  | { kind: 'deleteToken'; at: number };

const token = fc.oneof(fc.constantFrom(...TOKENS), fc.constantFrom(...EDGES), fc.string({ maxLength: 6 }));
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('deleteLine' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('dupLine' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swapLines' as const), a: fc.nat(), b: fc.nat() }),
  fc.record({ kind: fc.constant('splice' as const), from: fc.nat(), start: fc.nat(), len: fc.integer({ min: 1, max: 12 }), at: fc.nat() }),
  fc.record({ kind: fc.constant('replaceToken' as const), at: fc.nat(), token }),
  fc.record({ kind: fc.constant('insertToken' as const), at: fc.nat(), token }),
  fc.record({ kind: fc.constant('deleteToken' as const), at: fc.nat() }),
);

/** Applies the mutations to a config, line by line and word by word. */
export function mutate(text: string, ops: readonly Op[]): string {
  let lines = text.split('\n');
  for (const o of ops) {
    const n = Math.max(lines.length, 1);
    switch (o.kind) {
      case 'deleteLine':
        lines.splice(o.at % n, 1);
        break;
      case 'dupLine':
        lines.splice(o.at % n, 0, lines[o.at % n] ?? '');
        break;
      case 'swapLines': {
        const [a, b] = [o.a % n, o.b % n];
        [lines[a], lines[b]] = [lines[b] ?? '', lines[a] ?? ''];
        break;
      }
      case 'splice': {
        const other = (CORPUS[o.from % CORPUS.length] as string).split('\n');
        const start = o.start % Math.max(other.length, 1);
        lines.splice(o.at % (lines.length + 1), 0, ...other.slice(start, start + o.len));
        break;
      }
      default: {
        // Word-level edits keep the line structure: pick the line, then the word.
        const li = o.at % n;
        const words = (lines[li] ?? '').split(/(\s+)/);
        const wordIdx = words.map((w, i) => (/\S/.test(w) ? i : -1)).filter((i) => i >= 0);
        const at = wordIdx.length > 0 ? (wordIdx[Math.floor(o.at / n) % wordIdx.length] as number) : 0;
        if (o.kind === 'replaceToken') words[at] = o.token;
        else if (o.kind === 'insertToken') words.splice(at, 0, o.token, ' ');
        else words.splice(at, 1);
        lines[li] = words.join('');
      }
    }
  }
  if (lines.length === 0) lines = [''];
  return lines.join('\n');
}

const mutant = fc
  .record({ base: fc.nat(), ops: fc.array(op, { minLength: 1, maxLength: 6 }) })
  .map(({ base, ops }) => mutate(CORPUS[base % CORPUS.length] as string, ops));

/** The parser's own promises: no throw, diagnostics inside the input, a JSON-able model. */
function checkParse(text: string): { config: Config; ok: boolean } {
  const { config, diagnostics } = parseConfigText(text, { file: 'f.conf', configId: 'lb01' });
  const lines = text.split(/\r\n|\n|\r/);
  for (const d of diagnostics) {
    assert.ok(d.severity === 'error' || d.severity === 'warning');
    assert.ok(d.message.length > 0);
    assert.ok(Number.isInteger(d.line) && d.line >= 1 && d.line <= lines.length, `line ${d.line} of ${lines.length}: ${d.message}`);
    const len = lines[d.line - 1]?.length ?? 0;
    assert.ok(Number.isInteger(d.col) && d.col >= 1 && d.col <= len + 1, `col ${d.col} on a line of ${len}: ${d.message}`);
  }
  assert.deepEqual(JSON.parse(JSON.stringify(config)), withoutNegativeZero(config));
  return { config, ok: !diagnostics.some((d) => d.severity === 'error') };
}

/**
 * The model with -0 read as 0. `weight -0` gives a weight of -0, which JSON writes as 0:
 * harmless (-0 === 0 wherever vipd compares weights), found by this fuzzer, reported.
 */
function withoutNegativeZero(v: unknown): unknown {
  if (Object.is(v, -0)) return 0;
  if (Array.isArray(v)) return v.map(withoutNegativeZero);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withoutNegativeZero(x)]));
  return v;
}

/**
 * What the daemon does with an accepted config: builds each instance's advert (as
 * daemon.ts #newRuntime does) and runs its state machine; every advert must encode and
 * every timer must be a finite deadline in the future.
 */
function checkRunnable(config: Config): void {
  for (const inst of config.instances) {
    const where = `instance ${inst.name}`;
    assert.ok(Number.isInteger(inst.vrid) && inst.vrid >= 1 && inst.vrid <= 255, `${where}: vrid ${inst.vrid}`);
    assert.ok(Number.isInteger(inst.priority) && inst.priority >= 1 && inst.priority <= 255, `${where}: priority ${inst.priority}`);
    assert.ok(Number.isFinite(inst.advertIntervalMs) && inst.advertIntervalMs > 0, `${where}: advert_int ${inst.advertIntervalMs} ms`);
    const authType = inst.version === 2 && inst.auth !== null ? (inst.auth.type === 'PASS' ? 1 : 2) : 0;
    const template: Omit<Advert, 'priority'> = {
      version: inst.version,
      type: 1,
      vrid: inst.vrid,
      addresses: inst.vips.map((v) => canonicalAddress(v.address) ?? v.address),
      intervalCs: Math.round(inst.advertIntervalMs / 10),
      authType,
      authData: inst.version === 2 ? authDataFromPassword(authType === 1 && inst.auth !== null ? inst.auth.password : '') : Buffer.alloc(0),
    };
    const src = inst.family === 4 ? '10.0.0.1' : 'fe80::1';
    const dst = inst.unicast ? (inst.unicastPeers[0]?.address ?? src) : (inst.mcastDestination ?? (inst.family === 4 ? '224.0.0.18' : 'ff02::12'));
    const send = (priority: number): void => {
      assert.doesNotThrow(() => encode({ ...template, priority }, { family: inst.family, src, dst }), `${where}: advert at priority ${priority}`);
    };
    assert.ok(Number.isFinite(masterDownIntervalMs(inst.priority, template.intervalCs, inst.version, inst.downTimerAdverts)), `${where}: master down interval`);

    let state: InstanceState = createInstance(instanceParams(inst, src));
    let now = 0;
    const timers = new Map<string, { at: number; generation: number }>();
    const feed = (ev: VrrpEvent): void => {
      const r = step(state, ev, now);
      state = r.state;
      for (const a of r.actions as readonly VrrpAction[]) {
        if (a.type === 'sendAdvert') send(a.priority);
        if (a.type === 'setTimer') {
          assert.ok(Number.isFinite(a.at) && a.at >= now, `${where}: timer ${a.timer} at ${a.at} (now ${now})`);
          timers.set(a.timer, { at: a.at, generation: a.generation });
        }
        if (a.type === 'cancelTimer') timers.delete(a.timer);
      }
    };
    feed({ type: 'startup' });
    // Fire the earliest timer a few times (down timer → MASTER → adverts), hear a priority-0
    // advert and a higher one, and shut down.
    for (let i = 0; i < 6 && timers.size > 0; i++) {
      const [kind, t] = [...timers].sort((x, y) => x[1].at - y[1].at)[0] as [string, { at: number; generation: number }];
      timers.delete(kind);
      now = t.at;
      feed({ type: 'timer', timer: kind as never, generation: t.generation });
    }
    feed({ type: 'advert', advert: { from: inst.family === 4 ? '10.0.0.2' : 'fe80::2', priority: 0, intervalCs: template.intervalCs } });
    feed({ type: 'shutdown' });
  }
}

describe('config parser fuzzing: mutations of the real configs', () => {
  it('the corpus parses, and what it accepts is runnable', () => {
    assert.ok(CORPUS.length >= 40, `${CORPUS.length} configs`);
    let accepted = 0;
    for (const text of CORPUS) {
      const r = checkParse(text);
      if (r.ok) {
        accepted++;
        checkRunnable(r.config);
      }
    }
    assert.ok(accepted >= 20, `only ${accepted} of the corpus accepted`);
  });

  it('regression (found by this fuzzer): "weight -0" is a weight of zero, and the model stays plain JSON', () => {
    const text = 'vrrp_script chk {\n script "/bin/true"\n weight -0\n}\nvrrp_instance V {\n interface eth0\n virtual_router_id 5\n' +
      ' priority 100\n virtual_ipaddress {\n  10.0.0.5\n }\n track_script {\n  chk\n }\n}\n';
    const { config } = checkParse(text);
    const w = config.scripts[0]?.weight;
    assert.ok(w === 0, `weight ${String(w)}`); // -0 === 0: it behaves as weight 0 (a failure means FAULT)
  });

  it('the runnable check notices an instance the daemon could not run', () => {
    const base = CORPUS.map((t) => parseConfigText(t, { configId: 'lb01' })).find((r) => r.config.instances.some((i) => i.version === 2));
    assert.ok(base);
    const inst = base.config.instances.find((i) => i.version === 2);
    assert.ok(inst);
    // v2 carries whole seconds: 2.5 s cannot be put on the wire.
    const broken: Config = { ...base.config, instances: [{ ...inst, advertIntervalMs: 2500 }] };
    assert.throws(() => checkRunnable(broken), /advert at priority/);
    assert.throws(() => checkRunnable({ ...base.config, instances: [{ ...inst, advertIntervalMs: Number.NaN }] }), /advert_int/);
  });

  it('never throws on mutants; accepted mutants are runnable', () => {
    let accepted = 0;
    let total = 0;
    fc.assert(
      fc.property(mutant, (text) => {
        total++;
        const r = checkParse(text);
        if (r.ok) {
          accepted++;
          checkRunnable(r.config);
        }
      }),
      RUNS(40_000),
    );
    // Mutants that are still valid are what reach the builder's and the core's corners.
    assert.ok(accepted > total / 10, `${accepted} of ${total} mutants accepted`);
  });

  it('lint never throws on pairs of mutants (a cluster of two hosts)', () => {
    fc.assert(
      fc.property(mutant, mutant, (a, b) => {
        const ca = parseConfigText(a, { file: 'a.conf', configId: 'lb01' }).config;
        const cb = parseConfigText(b, { file: 'b.conf', configId: 'lb02' }).config;
        for (const d of lintCluster([{ file: 'a.conf', config: ca }, { file: 'b.conf', config: cb }])) {
          assert.ok(d.message.length > 0);
        }
      }),
      RUNS(10_000),
    );
  });
});
