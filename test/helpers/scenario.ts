/**
 * Golden scenarios for the VRRP state machine: a readable event script in, the exact
 * actions out. One JSON object per line (blank lines allowed):
 *
 *   {"comment": "RFC 3768 §6.4.2 …", "params": {"basePriority": 100}}        header, single instance
 *   {"comment": "…", "group": [{"name": "VI_1"}, {"name": "VI_2"}]}          header, a sync group
 *   {"note": "free text"}                                                     ignored
 *   {"at": 0, "event": {"type": "startup"}}                                   now = at, step
 *   {"fire": "masterDown"}                                                    fire the pending timer at its deadline
 *   {"fire": "masterDown", "at": 3609.375}                                    … and check that deadline
 *   {"expect": [ …actions ]}                                                  exactly the actions of the line above
 *   {"check": {"state": "MASTER", "vipsHeld": true}}                          partial match on the instance state
 *
 * In a group, event and fire lines name their member with "instance", expected actions
 * carry an "instance" field, and check is `{"VI_1": {…}, "VI_2": {…}}`.
 * Every event or fire line must be followed by an expect line; time never goes back.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInstance, step } from '../../src/vrrp/instance.js';
import { stepSyncGroup } from '../../src/vrrp/sync-group.js';
import type { InstanceParams, InstanceState, TimerKind, VrrpEvent } from '../../src/vrrp/types.js';

/** test/fixtures/scenarios in the source tree (this file runs from dist/test/helpers). */
export const scenarioDir = fileURLToPath(new URL('../../../test/fixtures/scenarios/', import.meta.url));

/** keepalived's defaults (garp_master_delay 5 s, garp_master_repeat 5, no refresh), v2, 1 s. */
export function defaultParams(overrides: Partial<InstanceParams> = {}): InstanceParams {
  return {
    name: 'VI_1',
    vrid: 51,
    version: 2,
    family: 4,
    basePriority: 100,
    advertIntervalCs: 100,
    initialState: 'BACKUP',
    preempt: true,
    preemptDelayMs: 0,
    primaryAddress: '10.0.0.1',
    downTimerAdverts: 3,
    lowerPrioNoAdvert: false,
    higherPrioSendAdvert: false,
    garp: { masterDelayMs: 5000, masterRepeat: 5, masterRefreshMs: 0, masterRefreshRepeat: 1 },
    ...overrides,
  };
}

export function listScenarios(): string[] {
  return readdirSync(scenarioDir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .map((f) => join(scenarioDir, f));
}

type Json = Record<string, unknown>;

function parseLines(file: string): Array<{ line: number; obj: Json }> {
  const out: Array<{ line: number; obj: Json }> = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      if (text.trim() === '') return;
      let obj: unknown;
      try {
        obj = JSON.parse(text);
      } catch (err) {
        throw new Error(`${basename(file)}:${i + 1}: not JSON: ${(err as Error).message}`);
      }
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
        throw new Error(`${basename(file)}:${i + 1}: each line must be a JSON object`);
      }
      out.push({ line: i + 1, obj: obj as Json });
    });
  return out;
}

/** Every key of `expected` must match in `actual`; nested objects partially, arrays exactly. */
function partialMatch(actual: unknown, expected: unknown, path: string): void {
  if (typeof expected === 'object' && expected !== null && !Array.isArray(expected)) {
    assert.ok(typeof actual === 'object' && actual !== null, `${path}: expected an object, got ${JSON.stringify(actual)}`);
    for (const [k, v] of Object.entries(expected)) partialMatch((actual as Json)[k], v, `${path}.${k}`);
    return;
  }
  assert.deepStrictEqual(actual, expected, `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

export interface ScenarioSummary {
  readonly comment: string;
  readonly steps: number;
}

/** Runs one scenario file; throws an AssertionError naming file:line on the first difference. */
export function runScenarioFile(file: string): ScenarioSummary {
  const lines = parseLines(file);
  const head = lines.shift();
  const name = basename(file);
  if (!head || typeof head.obj.comment !== 'string' || head.obj.comment.length === 0) {
    throw new Error(`${name}: the first line must be a header with a "comment" citing what it proves`);
  }
  const groupParams = head.obj.group as Array<Partial<InstanceParams>> | undefined;
  const single = groupParams === undefined;
  let members: InstanceState[] = single
    ? [createInstance(defaultParams((head.obj.params ?? {}) as Partial<InstanceParams>))]
    : groupParams.map((p, i) => createInstance(defaultParams({ name: `VI_${i + 1}`, ...p })));
  let now = 0;
  let pending: unknown[] | null = null;
  let steps = 0;

  const member = (where: string, instance: unknown): number => {
    if (single) return 0;
    const i = members.findIndex((m) => m.params.name === instance);
    if (i === -1) throw new Error(`${where}: "instance" must name a member, got ${JSON.stringify(instance)}`);
    return i;
  };

  /** Steps and returns the actions, in the form the expect lines use. */
  const run = (where: string, instance: unknown, event: VrrpEvent): unknown[] => {
    const i = member(where, instance);
    steps++;
    if (single) {
      const r = step(members[0] as InstanceState, event, now);
      members = [r.state];
      return [...r.actions];
    }
    const target = (members[i] as InstanceState).params.name;
    const r = stepSyncGroup(members, target, event, now);
    members = r.members;
    return r.actions.map((a) => ({ instance: a.instance, ...a.action }));
  };

  for (const { line, obj } of lines) {
    const where = `${name}:${line}`;
    const isStep = 'event' in obj || 'fire' in obj;
    if (pending !== null && !('expect' in obj)) {
      throw new Error(`${where}: the step on the line before must be followed by an "expect" line`);
    }
    if ('note' in obj) continue;
    if ('expect' in obj) {
      if (pending === null) throw new Error(`${where}: "expect" without a step before it`);
      assert.deepStrictEqual(pending, obj.expect, `${where}: actions differ`);
      pending = null;
      continue;
    }
    if ('check' in obj) {
      const check = obj.check as Json;
      if (single) partialMatch(members[0], check, `${where} state`);
      else for (const [n, c] of Object.entries(check)) partialMatch(members[member(where, n)], c, `${where} ${n}`);
      continue;
    }
    if (!isStep) throw new Error(`${where}: unknown line ${JSON.stringify(obj)}`);
    if ('event' in obj) {
      const at = obj.at;
      if (typeof at !== 'number') throw new Error(`${where}: an event line needs a numeric "at"`);
      assert.ok(at >= now, `${where}: time goes back from ${now} to ${at}`);
      now = at;
      pending = run(where, obj.instance, obj.event as VrrpEvent);
      continue;
    }
    const kind = obj.fire as TimerKind;
    const m = members[member(where, obj.instance)] as InstanceState;
    const slot = m.timers[kind];
    if (!slot) throw new Error(`${where}: no pending ${String(kind)} timer to fire`);
    if (obj.at !== undefined) assert.equal(slot.at, obj.at, `${where}: ${kind} deadline`);
    assert.ok(slot.at >= now, `${where}: ${kind} deadline ${slot.at} is before now ${now}`);
    now = slot.at;
    pending = run(where, obj.instance, { type: 'timer', timer: kind, generation: slot.generation });
  }
  if (pending !== null) throw new Error(`${name}: the last step has no "expect" line`);
  return { comment: head.obj.comment, steps };
}
