/**
 * One track_file: an integer read from a file, re-read whenever the file changes
 * (keepalived trackers/track_file.c).
 *
 * keepalived's rules, kept here:
 * - the value is strtol(first 127 bytes, base 0): leading blanks, a sign, 0x… hex,
 *   0… octal, digits up to the first non-digit; no digits (or an empty, missing or
 *   unreadable file) → 0; a number outside -2^31 .. 2^31 is logged and ignored (the
 *   previous value stays);
 * - the directory is watched, so a file replaced by rename is seen; a deleted or
 *   moved-away file is 0;
 * - `init_file [VALUE] [overwrite]` writes "VALUE\n" at start when the file does not
 *   exist, or with `overwrite` also when it does (a regular file, and never on reload).
 *
 * keepalived reads on IN_CLOSE_WRITE; fs.watch reports every write (IN_MODIFY), so a
 * `echo 5 > file` would first be seen truncated (0). Reads therefore wait until the
 * file has been quiet for `settleMs`.
 */
import { watch, type FSWatcher } from 'node:fs';
import { constants, open, realpath, stat, writeFile } from 'node:fs/promises';
import { posix as path } from 'node:path';
import type { Logger } from 'pino';
import type { TrackFile } from '../config/model.js';
import { realTimers, type Timers } from './timers.js';

/** keepalived reads at most this much of the file (char buf[128], one for the NUL). */
const READ_BYTES = 127;
const INT32_MIN = -(2 ** 31);
const INT32_MAX_PLUS_1 = 2 ** 31;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

/**
 * strtol(text, NULL, 0) with keepalived's range check: the value, or null when
 * keepalived would log "Invalid number … - ignoring" and keep the previous value.
 */
export function parseTrackFileValue(text: string): number | null {
  const nul = text.indexOf('\0');
  const s = nul >= 0 ? text.slice(0, nul) : text;
  let i = 0;
  while (i < s.length && ' \t\n\v\f\r'.includes(s[i] as string)) i++;
  let negative = false;
  if (s[i] === '+' || s[i] === '-') {
    negative = s[i] === '-';
    i++;
  }
  let base = 10n;
  let digits = '0123456789';
  if (s[i] === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X') && /[0-9a-fA-F]/.test(s[i + 2] ?? '')) {
    base = 16n;
    digits = '0123456789abcdef';
    i += 2;
  } else if (s[i] === '0') {
    base = 8n;
    digits = '01234567';
  }
  let v = 0n;
  for (; i < s.length; i++) {
    const d = digits.indexOf((s[i] as string).toLowerCase());
    if (d < 0) break;
    v = v * base + BigInt(d);
    if (v > LONG_MAX + 1n) return null; // ERANGE
  }
  if (negative) v = -v;
  if (v < LONG_MIN || v > LONG_MAX) return null;
  const n = Number(v);
  if (n < INT32_MIN || n > INT32_MAX_PLUS_1) return null;
  return n;
}

export interface FileTrackerOptions {
  readonly file: TrackFile;
  readonly log: Logger;
  /** Called when the value changes (not for the first read in start()). */
  readonly onValue: (name: string, value: number) => void;
  /** A reload: `init_file … overwrite` leaves an existing file alone (keepalived). */
  readonly reload?: boolean;
  /** Quiet time after a change before reading (default 100 ms). */
  readonly settleMs?: number;
  /** Retry watching a directory that disappeared after this long (default 5 s). */
  readonly rewatchMs?: number;
  readonly timers?: Timers;
}

export interface FileTrackerInfo {
  readonly name: string;
  /** The path read (symlinks in it resolved at start, as keepalived does). */
  readonly path: string;
  readonly value: number;
  readonly watching: boolean;
  readonly reads: number;
  /** Reads ignored because the number was out of range. */
  readonly invalid: number;
  readonly problem: string | null;
}

export class FileTracker {
  readonly #f: TrackFile;
  readonly #o: FileTrackerOptions;
  readonly #log: Logger;
  readonly #timers: Timers;
  #path: string;
  #value = 0;
  #watcher: FSWatcher | null = null;
  #settle: unknown = undefined;
  #firstChange = 0;
  #rewatch: unknown = undefined;
  #reading: Promise<void> | null = null;
  #again = false;
  #closed = false;
  #reads = 0;
  #invalid = 0;
  #problem: string | null = null;

  constructor(opts: FileTrackerOptions) {
    this.#f = opts.file;
    this.#o = opts;
    this.#log = opts.log.child({ trackFile: opts.file.name });
    this.#timers = opts.timers ?? realTimers;
    this.#path = path.resolve(opts.file.path);
  }

  get name(): string {
    return this.#f.name;
  }

  value(): number {
    return this.#value;
  }

  info(): FileTrackerInfo {
    return {
      name: this.#f.name,
      path: this.#path,
      value: this.#value,
      watching: this.#watcher !== null,
      reads: this.#reads,
      invalid: this.#invalid,
      problem: this.#problem,
    };
  }

  /** init_file, first read, then watching. Resolves once value() holds the file's value. */
  async start(): Promise<void> {
    if (this.#f.init !== null) await this.#initFile(this.#f.init);
    if (this.#closed) return;
    const dir = await this.#resolve();
    if (this.#closed) return;
    await this.#read(false);
    if (dir !== null) this.#watch(dir);
  }

  /** Re-reads the file now (the watcher does this by itself). */
  async refresh(): Promise<void> {
    await this.#readSerial();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#watcher?.close();
    this.#watcher = null;
    if (this.#settle !== undefined) this.#timers.clearTimeout(this.#settle);
    if (this.#rewatch !== undefined) this.#timers.clearTimeout(this.#rewatch);
    this.#settle = this.#rewatch = undefined;
    await this.#reading;
  }

  async #initFile(init: { value: number; overwrite: boolean }): Promise<void> {
    const p = this.#path;
    let exists = false;
    try {
      const st = await stat(p);
      exists = true;
      if (!init.overwrite) return;
      if (!st.isFile()) {
        this.#log.error({ path: p }, `Cannot initialise track file ${this.#f.name} - ${p} is not a regular file`);
        return;
      }
      if (this.#o.reload === true) return;
    } catch {
      // does not exist: create it
    }
    try {
      await writeFile(p, `${init.value}\n`, { mode: 0o644 });
      this.#log.info({ path: p, value: init.value, overwrite: exists }, `track_file ${this.#f.name}: ${exists ? 'initialised' : 'created'} ${p} with ${init.value}`);
    } catch (err) {
      this.#log.error({ path: p, err: (err as Error).message }, `Unable to initialise track file ${this.#f.name} (${p}): ${(err as Error).message}`);
    }
  }

  /** keepalived resolves the path once; returns the directory to watch, or null. */
  async #resolve(): Promise<string | null> {
    try {
      this.#path = await realpath(this.#path);
      return path.dirname(this.#path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.#setProblem(`${this.#path} is not accessible (${(err as NodeJS.ErrnoException).code ?? ''}); value 0`);
        return null;
      }
    }
    try {
      const dir = await realpath(path.dirname(this.#path));
      if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
      this.#path = path.join(dir, path.basename(this.#path));
      return dir;
    } catch {
      this.#setProblem(`the directory of ${this.#path} does not exist; value 0 and not watched (keepalived drops such a track_file)`);
      return null;
    }
  }

  #setProblem(p: string | null): void {
    if (p !== null && p !== this.#problem) this.#log.warn({ path: this.#path }, `track_file ${this.#f.name}: ${p}`);
    this.#problem = p;
  }

  #watch(dir: string): void {
    if (this.#closed) return;
    const base = path.basename(this.#path);
    try {
      const w = watch(dir, { persistent: false }, (_event, filename) => {
        if (filename !== null && filename.toString() !== base) return;
        this.#changed();
      });
      w.on('error', (err) => {
        if (this.#watcher !== w) return;
        w.close();
        this.#watcher = null;
        this.#setProblem(`watching ${dir} failed (${err.message}); retrying`);
        this.#scheduleRewatch(dir);
        this.#changed();
      });
      this.#watcher = w;
      if (this.#problem !== null && this.#problem.startsWith('watching')) this.#setProblem(null);
    } catch (err) {
      this.#setProblem(`cannot watch ${dir} (${(err as Error).message}); retrying`);
      this.#scheduleRewatch(dir);
    }
  }

  #scheduleRewatch(dir: string): void {
    if (this.#closed || this.#rewatch !== undefined) return;
    this.#rewatch = this.#timers.setTimeout(() => {
      this.#rewatch = undefined;
      this.#watch(dir);
      if (this.#watcher !== null) this.#changed();
    }, this.#o.rewatchMs ?? 5000);
  }

  #changed(): void {
    if (this.#closed) return;
    const settle = this.#o.settleMs ?? 100;
    const now = this.#timers.now();
    if (this.#settle !== undefined) {
      // A file rewritten non-stop is still read, at most ten settle times after the first change.
      if (now - this.#firstChange >= 10 * settle) return;
      this.#timers.clearTimeout(this.#settle);
    } else {
      this.#firstChange = now;
    }
    this.#settle = this.#timers.setTimeout(() => {
      this.#settle = undefined;
      void this.#readSerial();
    }, settle);
  }

  /** One read at a time; a change during a read triggers one more. */
  async #readSerial(): Promise<void> {
    if (this.#reading !== null) {
      this.#again = true;
      return this.#reading;
    }
    this.#reading = (async () => {
      do {
        this.#again = false;
        await this.#read(true);
      } while (this.#again && !this.#closed);
    })()
      .catch((err: unknown) => this.#log.error({ err }, `track_file ${this.#f.name}: ${(err as Error).message}`))
      .finally(() => {
        this.#reading = null;
      });
    return this.#reading;
  }

  async #read(notify: boolean): Promise<void> {
    let text = '';
    try {
      // O_NONBLOCK: a FIFO put there by mistake must not hang the read (keepalived does the same).
      const fh = await open(this.#path, constants.O_RDONLY | constants.O_NONBLOCK);
      try {
        const buf = Buffer.alloc(READ_BYTES);
        const { bytesRead } = await fh.read(buf, 0, READ_BYTES, null);
        text = buf.subarray(0, bytesRead).toString('latin1');
      } finally {
        await fh.close();
      }
    } catch {
      // missing or unreadable: 0, as keepalived
    }
    if (this.#closed) return;
    this.#reads++;
    const v = parseTrackFileValue(text);
    if (v === null) {
      this.#invalid++;
      this.#log.warn({ path: this.#path, text: text.trim().slice(0, 40) }, `Invalid number read from ${this.#path} - ignoring`);
      return;
    }
    if (v === this.#value) return;
    const previous = this.#value;
    this.#value = v;
    if (!notify) {
      this.#log.debug({ path: this.#path, value: v }, `track_file ${this.#f.name}: value ${v}`);
      return;
    }
    this.#log.info({ path: this.#path, previous, value: v }, `track_file ${this.#f.name}: value ${previous} -> ${v}`);
    this.#o.onValue(this.#f.name, v);
  }
}
