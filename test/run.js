#!/usr/bin/env node
// Runs the compiled test suites with node:test.
//   node test/run.js                 every suite: unit, then netns, then interop
//   node test/run.js unit netns      only those suites
//   node test/run.js <file.test.js>  single files (paths under dist/test)
// Unit tests run in parallel; netns and interop tests build network namespaces and
// time failovers, so they run one file at a time to keep their timings honest.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const compiled = join(root, 'dist', 'test');
const suites = ['unit', 'netns', 'interop'];

function find(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const args = process.argv.slice(2);
const wanted = args.filter((a) => suites.includes(a));
const files = args.filter((a) => !suites.includes(a));
let status = 0;

function run(list, concurrency) {
  if (list.length === 0) return;
  const r = spawnSync(
    process.execPath,
    ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...list],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) status = r.status ?? 1;
}

if (files.length > 0) {
  run(files.map((f) => resolve(f)), 1);
} else {
  for (const suite of wanted.length > 0 ? wanted : suites) {
    run(find(join(compiled, suite)), suite === 'unit' ? 2 : 1);
  }
}
process.exit(status);
