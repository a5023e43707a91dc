// track_file: keepalived's value parsing (strtol base 0, range check), init_file, and
// watching a real file in a temp dir (write, rename-replace, delete, invalid content).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, open, readFile, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TrackFile } from '../../src/config/model.js';
import { createLogger } from '../../src/log.js';
import { FileTracker, parseTrackFileValue } from '../../src/track/files.js';

const loc = { file: 'keepalived.conf', line: 1, col: 1 };

describe('parseTrackFileValue (strtol(buf, NULL, 0) + keepalived range check)', () => {
  const cases: Array<[string, number | null]> = [
    ['5\n', 5],
    ['  \t\n 42', 42],
    ['-7', -7],
    ['+7', 7],
    ['12abc', 12],
    ['abc', 0],
    ['', 0],
    ['\n', 0],
    ['0x1f', 31],
    ['0X1F', 31],
    ['0x', 0],
    ['0xg', 0],
    ['010', 8],
    ['09', 0],
    ['-0x10', -16],
    ['2147483647', 2147483647],
    ['2147483648', 2147483648], // keepalived allows INT32_MAX + 1
    ['2147483649', null],
    ['-2147483648', -2147483648],
    ['-2147483649', null],
    ['99999999999999999999999', null], // ERANGE
    ['3\u0000 9', 3],
    ['- 5', 0],
  ];
  for (const [text, expected] of cases) {
    it(`${JSON.stringify(text)} → ${expected}`, () => {
      assert.equal(parseTrackFileValue(text), expected);
    });
  }
});

async function waitFor(what: string, pred: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('FileTracker on real files', () => {
  let dir = '';
  const trackers: FileTracker[] = [];
  const logs: Array<{ level: number; msg: string }> = [];
  const log = createLogger({ destination: { write: (l: string) => logs.push(JSON.parse(l) as { level: number; msg: string }) } });
  let n = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vipd-trackfile-'));
  });
  after(async () => {
    await Promise.all(trackers.map((t) => t.close()));
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  function tf(path: string, init: TrackFile['init'] = null): TrackFile {
    return { name: `tf${++n}`, path, weight: 1, weightReverse: false, init, loc };
  }

  async function start(file: TrackFile, reload = false): Promise<{ t: FileTracker; values: number[] }> {
    const values: number[] = [];
    const t = new FileTracker({ file, log, onValue: (_n, v) => values.push(v), settleMs: 30, reload });
    trackers.push(t);
    await t.start();
    return { t, values };
  }

  it('reads the value at start without calling back, then calls back on changes only', async () => {
    const p = join(dir, 'a');
    await writeFile(p, '10\n');
    const { t, values } = await start(tf(p));
    assert.equal(t.value(), 10);
    assert.deepEqual(values, []);
    await writeFile(p, '-20\n');
    await waitFor('-20', () => t.value() === -20);
    await writeFile(p, '-20\n'); // same value: no call
    await writeFile(p, '3');
    await waitFor('3', () => t.value() === 3);
    assert.deepEqual(values, [-20, 3]);
    await t.close();
  });

  it('sees a file replaced by rename (the atomic way to write it)', async () => {
    const p = join(dir, 'b');
    await writeFile(p, '1');
    const { t, values } = await start(tf(p));
    await writeFile(join(dir, 'b.tmp'), '77\n');
    await rename(join(dir, 'b.tmp'), p);
    await waitFor('77', () => t.value() === 77);
    assert.deepEqual(values, [77]);
    await t.close();
  });

  it('a deleted file is 0, a recreated one is read again', async () => {
    const p = join(dir, 'c');
    await writeFile(p, '5');
    const { t, values } = await start(tf(p));
    await unlink(p);
    await waitFor('0', () => t.value() === 0);
    await writeFile(p, '6');
    await waitFor('6', () => t.value() === 6);
    assert.deepEqual(values, [0, 6]);
    await t.close();
  });

  it('a missing file reads as 0 and is picked up when it appears', async () => {
    const p = join(dir, 'd');
    const { t, values } = await start(tf(p));
    assert.equal(t.value(), 0);
    assert.equal(t.info().watching, true);
    await writeFile(p, '9');
    await waitFor('9', () => t.value() === 9);
    assert.deepEqual(values, [9]);
    await t.close();
  });

  it('ignores an out-of-range number and keeps the previous value (counted, logged)', async () => {
    const p = join(dir, 'e');
    await writeFile(p, '4');
    const { t, values } = await start(tf(p));
    await writeFile(p, '99999999999');
    await waitFor('the invalid read', () => t.info().invalid === 1);
    assert.equal(t.value(), 4);
    assert.ok(logs.some((l) => l.msg === `Invalid number read from ${t.info().path} - ignoring`));
    assert.deepEqual(values, []);
    await t.close();
  });

  it('a write in two steps (truncate, then the number) is not seen as a transient 0', async () => {
    const p = join(dir, 'f');
    await writeFile(p, '50\n');
    const values: number[] = [];
    const t = new FileTracker({ file: tf(p), log, onValue: (_n, v) => values.push(v), settleMs: 250 });
    trackers.push(t);
    await t.start();
    for (let i = 0; i < 3; i++) {
      // what `echo N > file` does, with a gap a busy machine could well produce
      const fh = await open(p, 'w');
      await new Promise((r) => setTimeout(r, 30));
      await fh.write(`${60 + i}\n`);
      await fh.close();
      await waitFor(`${60 + i}`, () => t.value() === 60 + i);
    }
    assert.deepEqual(values, [60, 61, 62]);
    await t.close();
  });

  it('a file rewritten non-stop is still read (at most ten settle times after the first change)', async () => {
    const p = join(dir, 'busy');
    await writeFile(p, '0');
    const values: number[] = [];
    const t = new FileTracker({ file: tf(p), log, onValue: (_n, v) => values.push(v), settleMs: 60 });
    trackers.push(t);
    await t.start();
    let seenWhileBusy = false;
    for (let i = 1; i <= 150 && !seenWhileBusy; i++) {
      await writeFile(p, String(i));
      await new Promise((r) => setTimeout(r, 15));
      seenWhileBusy = values.length > 0;
    }
    assert.ok(seenWhileBusy, 'a value was read while the file kept changing');
    await t.close();
  });

  it('reads through a symlink at start (keepalived resolves the path once)', async () => {
    const real = join(dir, 'real');
    await writeFile(real, '12');
    const link = join(dir, 'link');
    await symlink(real, link);
    const { t } = await start(tf(link));
    assert.equal(t.value(), 12);
    assert.equal(t.info().path, real);
    await writeFile(real, '13');
    await waitFor('13', () => t.value() === 13);
    await t.close();
  });

  it('a directory that does not exist: value 0, not watched, a clear warning', async () => {
    const p = join(dir, 'no', 'such', 'dir', 'file');
    const { t } = await start(tf(p));
    assert.equal(t.value(), 0);
    assert.equal(t.info().watching, false);
    assert.match(t.info().problem ?? '', /does not exist/);
    await t.close();
  });

  it('close() stops watching and is safe twice', async () => {
    const p = join(dir, 'g');
    await writeFile(p, '1');
    const { t, values } = await start(tf(p));
    await t.close();
    await t.close();
    await writeFile(p, '2');
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(values, []);
    assert.equal(t.value(), 1);
  });

  describe('init_file', () => {
    it('creates a missing file with the value', async () => {
      const p = join(dir, 'init1');
      const { t } = await start(tf(p, { value: -3, overwrite: false }));
      assert.equal(await readFile(p, 'utf8'), '-3\n');
      assert.equal(t.value(), -3);
      await t.close();
    });

    it('leaves an existing file alone without overwrite', async () => {
      const p = join(dir, 'init2');
      await writeFile(p, '8\n');
      const { t } = await start(tf(p, { value: 0, overwrite: false }));
      assert.equal(await readFile(p, 'utf8'), '8\n');
      assert.equal(t.value(), 8);
      await t.close();
    });

    it('overwrites an existing file with overwrite, but not on reload', async () => {
      const p = join(dir, 'init3');
      await writeFile(p, '8\n');
      const first = await start(tf(p, { value: 1, overwrite: true }));
      assert.equal(await readFile(p, 'utf8'), '1\n');
      await first.t.close();
      await writeFile(p, '8\n');
      const second = await start(tf(p, { value: 1, overwrite: true }), true);
      assert.equal(await readFile(p, 'utf8'), '8\n');
      assert.equal(second.t.value(), 8);
      await second.t.close();
    });

    it('refuses to overwrite something that is not a regular file', async () => {
      const p = join(dir, 'init4');
      await mkdir(p);
      const { t } = await start(tf(p, { value: 1, overwrite: true }));
      assert.ok(logs.some((l) => l.msg.startsWith('Cannot initialise track file') && l.msg.includes('not a regular file')));
      assert.equal(t.value(), 0);
      await t.close();
    });
  });
});
