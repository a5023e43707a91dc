// Golden scenarios: test/fixtures/scenarios/*.jsonl (format in test/helpers/scenario.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { listScenarios, runScenarioFile } from '../helpers/scenario.js';

describe('golden scenarios', () => {
  const files = listScenarios();
  it('finds the scenario files', () => {
    assert.ok(files.length >= 20, `only ${files.length} scenario files found`);
  });
  for (const file of files) {
    it(file.slice(file.lastIndexOf('/') + 1), () => {
      const { steps } = runScenarioFile(file);
      assert.ok(steps > 0, 'a scenario must step at least once');
    });
  }
});

describe('scenario runner catches mistakes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vipd-scenario-'));
  const write = (name: string, lines: unknown[]): string => {
    const p = join(dir, name);
    writeFileSync(p, lines.map((l) => JSON.stringify(l)).join('\n'));
    return p;
  };
  const header = { comment: 'runner self-test' };
  const startup = { at: 0, event: { type: 'startup' } };

  it('fails on a wrong action list', () => {
    const f = write('wrong.jsonl', [header, startup, { expect: [] }]);
    assert.throws(() => runScenarioFile(f), /actions differ/);
  });
  it('fails on a step without expect', () => {
    const f = write('missing.jsonl', [header, startup]);
    assert.throws(() => runScenarioFile(f), /no "expect"/);
  });
  it('fails on a wrong deadline', () => {
    const f = write('deadline.jsonl', [
      header,
      startup,
      { expect: null },
    ]);
    assert.throws(() => runScenarioFile(f));
    const g = write('deadline2.jsonl', [header, { fire: 'masterDown', at: 1 }, { expect: [] }]);
    assert.throws(() => runScenarioFile(g), /no pending masterDown/);
  });
  it('fails on a wrong state check', () => {
    const f = write('check.jsonl', [header, { check: { state: 'MASTER' } }]);
    assert.throws(() => runScenarioFile(f), /state/);
  });
  it('cleans up', () => rmSync(dir, { recursive: true, force: true }));
});
