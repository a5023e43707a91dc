/**
 * notify_fifo / vrrp_notify_fifo: one line per state change, `INSTANCE "VI_1" MASTER 150`,
 * written to a FIFO that some other program reads (keepalived lib/notify.c fifo_open,
 * fifo_close; vrrp/vrrp_notify.c notify_fifo).
 *
 * - The FIFO is created (mode 0644, chowned to the fifo's user/group) when missing and
 *   removed again on close if we created it; a path that exists and is not a FIFO is
 *   refused rather than written into.
 * - `*_fifo_script` is started with the FIFO path as its last argument before the FIFO
 *   is opened, runs without a timeout, and gets SIGTERM on stop (it is not restarted
 *   if it exits, as in keepalived).
 * - Writes never block: the FIFO is opened O_NONBLOCK and lines go out one at a time
 *   from a small queue, in order.
 *
 * Two open modes:
 * - 'keepalived' (default): O_RDWR, exactly as keepalived. Holding a read end ourselves
 *   means there is no ENXIO/EPIPE: lines written while no reader is there wait in the
 *   pipe (64 KiB) for the next reader, so a fifo script that is still starting up
 *   does not miss the first lines. Only a full pipe drops lines (EAGAIN, counted).
 * - 'drop': O_WRONLY. While nobody reads, open fails with ENXIO and the line is dropped
 *   (counted); a reader that goes away gives EPIPE, the FIFO is re-opened for the next
 *   line; a full pipe drops (EAGAIN). A reader only ever sees lines written while it
 *   was there.
 */
import { constants } from 'node:fs';
import { chown, lstat, open, unlink, type FileHandle } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Command, NotifyFifo } from '../config/model.js';
import { describeOutcome, runCommand, type RunOptions, type RunResult, shellQuote } from '../exec/run-command.js';
import type { ScriptUsers } from '../exec/users.js';
import { checkProgram } from '../track/program-check.js';
import type { NotifyLineSink } from './notifier.js';

export type FifoMode = 'keepalived' | 'drop';

export interface FifoWriterOptions {
  readonly fifo: NotifyFifo;
  /** 'notify_fifo' or 'vrrp_notify_fifo', for the log. */
  readonly keyword: string;
  readonly users: ScriptUsers;
  readonly log: Logger;
  readonly mode?: FifoMode;
  /** enable_script_security: refuse a fifo script a non-root user could modify when it runs as root. */
  readonly scriptSecurity?: boolean;
  /** Lines waiting for the writer; more are dropped (default 1000). */
  readonly maxQueue?: number;
  /** SIGTERM → SIGKILL grace for the fifo script on stop (default 2000). */
  readonly killGraceMs?: number;
  /** Creates the FIFO (default: `mkfifo -m 0644 PATH`, run asynchronously). */
  readonly mkfifo?: (path: string) => Promise<void>;
  readonly run?: (opts: RunOptions) => Promise<RunResult>;
}

export interface FifoStats {
  readonly keyword: string;
  readonly path: string;
  readonly mode: FifoMode;
  /** The FIFO is open for writing. */
  readonly open: boolean;
  /** We created it (and remove it on close). */
  readonly created: boolean;
  readonly written: number;
  readonly dropped: {
    /** 'drop' mode: nobody had the FIFO open for reading (ENXIO / EPIPE). */
    readonly noReader: number;
    /** The pipe or our queue was full (EAGAIN). */
    readonly full: number;
    /** The FIFO could not be created/opened/written, or the writer was closed. */
    readonly error: number;
  };
  readonly script: { readonly running: boolean; readonly pid: number | null; readonly exit: string | null } | null;
  readonly problem: string | null;
}

async function defaultMkfifo(path: string): Promise<void> {
  const r = await runCommand({ argv: ['mkfifo', '-m', '0644', path], timeoutMs: 10_000 });
  if (r.outcome.kind !== 'exit' || r.outcome.code !== 0) {
    throw new Error(`mkfifo ${describeOutcome(r.outcome)}${r.output.trim() !== '' ? `: ${r.output.trim()}` : ''}`);
  }
}


export class FifoWriter implements NotifyLineSink {
  readonly #o: FifoWriterOptions;
  readonly #log: Logger;
  readonly #mode: FifoMode;
  readonly #queue: string[] = [];
  #fh: FileHandle | null = null;
  #pump: Promise<void> | null = null;
  #created = false;
  /** null while start() runs (lines queue up), then whether the FIFO can be used at all. */
  #usable: boolean | null = null;
  #closed = false;
  #problem: string | null = null;
  #written = 0;
  #noReader = 0;
  #full = 0;
  #error = 0;
  #dropStreak: 'noReader' | 'full' | null = null;
  #script: { abort: AbortController; done: Promise<void>; pid: number | null; exit: string | null } | null = null;

  constructor(opts: FifoWriterOptions) {
    this.#o = opts;
    this.#mode = opts.mode ?? 'keepalived';
    this.#log = opts.log.child({ fifo: opts.fifo.path });
  }

  get path(): string {
    return this.#o.fifo.path;
  }

  stats(): FifoStats {
    return {
      keyword: this.#o.keyword,
      path: this.#o.fifo.path,
      mode: this.#mode,
      open: this.#fh !== null,
      created: this.#created,
      written: this.#written,
      dropped: { noReader: this.#noReader, full: this.#full, error: this.#error },
      script: this.#script === null ? null : { running: this.#script.exit === null, pid: this.#script.pid, exit: this.#script.exit },
      problem: this.#problem,
    };
  }

  /** Creates the FIFO if needed, starts the fifo script, opens the FIFO. Never throws. */
  async start(): Promise<void> {
    const path = this.#o.fifo.path;
    const usable = await this.#ensureFifo(path);
    if (!usable) {
      this.#usable = false;
      this.#error += this.#queue.splice(0).length;
      return;
    }
    if (this.#closed) return;
    if (this.#o.fifo.script !== null) await this.#startScript(this.#o.fifo.script);
    if (this.#closed) return;
    await this.#open(true);
    this.#usable = true;
    this.#kick();
  }

  write(line: string): void {
    if (this.#closed || this.#usable === false) {
      this.#error++;
      return;
    }
    if (this.#queue.length >= (this.#o.maxQueue ?? 1000)) {
      this.#drop('full', 1);
      return;
    }
    this.#queue.push(line.endsWith('\n') ? line : line + '\n');
    this.#kick();
  }

  /** SIGTERM to the fifo script now (keepalived does this before writing the final STOP lines). */
  stopScript(): void {
    this.#script?.abort.abort();
  }

  /** Writes what is queued, removes a FIFO we created, closes it, stops the script. Safe twice. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.stopScript();
      await this.#pump;
      // Unlink first, so a reader that loops re-opening the path cannot get this FIFO again.
      if (this.#created) await unlink(this.#o.fifo.path).catch(() => undefined);
      await this.#fh?.close().catch(() => undefined);
      this.#fh = null;
      this.#error += this.#queue.splice(0).length;
    }
    await this.#script?.done;
  }

  async #ensureFifo(path: string): Promise<boolean> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const st = await lstat(path);
        if (st.isFIFO()) return true;
        return this.#fail(`${path} exists and is not a FIFO; ${this.#o.keyword} lines are not written`);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          return this.#fail(`${path} cannot be accessed (${(err as Error).message})`);
        }
      }
      try {
        await (this.#o.mkfifo ?? defaultMkfifo)(path);
      } catch (err) {
        if (attempt === 0) continue; // someone else may have created it meanwhile: look again
        return this.#fail(`Unable to create ${this.#o.keyword} ${path}: ${(err as Error).message}`);
      }
      this.#created = true;
      const c = this.#o.users.resolve(this.#o.fifo.user, this.#o.fifo.group);
      if (c.uid !== undefined || c.gid !== undefined) {
        await chown(path, c.uid ?? -1, c.gid ?? -1).catch((err: Error) =>
          this.#log.warn({ err: err.message }, `Failed to set uid:gid ${c.uid ?? -1}:${c.gid ?? -1} for fifo ${path}`),
        );
      }
      this.#log.info(`${this.#o.keyword}: created ${path}`);
      return true;
    }
    return false;
  }

  #fail(problem: string): false {
    this.#problem = problem;
    this.#log.error({ keyword: this.#o.keyword }, problem);
    return false;
  }

  async #startScript(cmd: Command): Promise<void> {
    const path = this.#o.fifo.path;
    const creds = this.#o.users.resolve(cmd.user, cmd.group);
    let argv: string[];
    if (cmd.viaShell) {
      argv = ['/bin/sh', '-c', `${cmd.text} ${shellQuote(path)}`];
    } else {
      const check = await checkProgram(cmd.argv[0] ?? '', {
        creds,
        scriptSecurity: this.#o.scriptSecurity ?? false,
        names: this.#o.users,
      });
      if (this.#closed) return;
      if (!check.ok) {
        this.#log.error({ reason: check.message }, `${this.#o.keyword}_script ${cmd.text} not started: ${check.message}`);
        return;
      }
      for (const note of check.notes) this.#log.warn(`${this.#o.keyword}_script: ${note}`);
      argv = [check.path, ...cmd.argv.slice(1), path];
    }
    const abort = new AbortController();
    const script: { abort: AbortController; done: Promise<void>; pid: number | null; exit: string | null } = {
      abort,
      done: Promise.resolve(),
      pid: null,
      exit: null,
    };
    this.#script = script;
    script.done = (this.#o.run ?? runCommand)({
      argv,
      timeoutMs: null,
      signal: abort.signal,
      ...(this.#o.killGraceMs !== undefined ? { killGraceMs: this.#o.killGraceMs } : {}),
      onSpawn: (pid) => {
        script.pid = pid;
      },
      ...creds,
    }).then((r) => {
      script.exit = describeOutcome(r.outcome);
      const output = r.output.trim().slice(0, 500);
      if (r.outcome.kind === 'aborted') this.#log.info(`${this.#o.keyword}_script terminated`);
      else this.#log.warn({ outcome: script.exit, ...(output !== '' ? { output } : {}) }, `${this.#o.keyword}_script ${cmd.text} ${script.exit}`);
    });
    this.#log.info({ argv }, `${this.#o.keyword}_script started`);
  }

  /** Opens the FIFO; false when it is not open afterwards. */
  async #open(first: boolean): Promise<boolean> {
    if (this.#fh !== null) return true;
    const base = this.#mode === 'keepalived' ? constants.O_RDWR : constants.O_WRONLY;
    try {
      this.#fh = await open(this.#o.fifo.path, base | constants.O_NONBLOCK | constants.O_NOFOLLOW);
      if (this.#closed) {
        await this.#fh.close().catch(() => undefined);
        this.#fh = null;
        return false;
      }
      this.#problem = null;
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENXIO') {
        this.#problem = null; // 'drop' mode: the FIFO is fine, nobody reads yet
        return false;
      }
      const problem = `Unable to open ${this.#o.keyword} ${this.#o.fifo.path}: ${(err as Error).message}`;
      if (problem !== this.#problem || first) this.#log.warn(problem);
      this.#problem = problem;
      return false;
    }
  }

  #kick(): void {
    if (this.#usable !== true || this.#pump !== null || this.#queue.length === 0) return;
    this.#pump = this.#drain()
      .catch((err: unknown) => this.#log.error({ err }, `${this.#o.keyword}: ${(err as Error).message}`))
      .finally(() => {
        this.#pump = null;
        if (this.#queue.length > 0 && !this.#closed) this.#kick();
      });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      if (!(await this.#open(false))) {
        const n = this.#queue.splice(0).length;
        if (this.#problem !== null) this.#error += n;
        else this.#drop('noReader', n);
        return;
      }
      const fh = this.#fh as FileHandle;
      const line = this.#queue.shift() as string;
      try {
        const { bytesWritten } = await fh.write(line);
        if (bytesWritten < Buffer.byteLength(line)) this.#drop('full', 1);
        else this.#delivered();
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
          this.#drop('full', 1);
        } else if (code === 'EPIPE') {
          // 'drop' mode: the reader went away. Re-open on the next line.
          this.#drop('noReader', 1);
          await this.#reopenLater(fh);
        } else {
          this.#error++;
          this.#log.warn({ err: (err as Error).message }, `${this.#o.keyword}: write to ${this.#o.fifo.path} failed`);
          await this.#reopenLater(fh);
        }
      }
    }
  }

  async #reopenLater(fh: FileHandle): Promise<void> {
    if (this.#fh === fh) this.#fh = null;
    await fh.close().catch(() => undefined);
  }

  #delivered(): void {
    this.#written++;
    if (this.#dropStreak !== null) {
      this.#log.info(`${this.#o.keyword}: lines reach ${this.#o.fifo.path} again`);
      this.#dropStreak = null;
    }
  }

  #drop(why: 'noReader' | 'full', n: number): void {
    if (why === 'noReader') this.#noReader += n;
    else this.#full += n;
    if (this.#dropStreak === why) return;
    this.#dropStreak = why;
    this.#log.warn(
      why === 'noReader'
        ? `${this.#o.keyword}: nobody reads ${this.#o.fifo.path}; lines are dropped (counted)`
        : `${this.#o.keyword}: ${this.#o.fifo.path} is full (nobody reads it, or the reader is too slow); lines are dropped (counted)`,
    );
  }
}

export interface NotifyFifosOptions {
  readonly users: ScriptUsers;
  readonly log: Logger;
  readonly mode?: FifoMode;
  readonly killGraceMs?: number;
  /** Builds each writer (tests). */
  readonly create?: (opts: FifoWriterOptions) => FifoWriter;
}

type FifoConfigs = { readonly notifyFifo: NotifyFifo | null; readonly vrrpNotifyFifo: NotifyFifo | null; readonly enableScriptSecurity: boolean };

/** What makes a FIFO "the same" across a reload: everything but source locations. */
function fingerprint(f: NotifyFifo, users: ScriptUsers, security: boolean): string {
  const cmd = f.script;
  return JSON.stringify({
    path: f.path,
    owner: users.resolve(f.user, f.group),
    script: cmd === null ? null : { argv: cmd.argv, text: cmd.text, viaShell: cmd.viaShell, as: users.resolve(cmd.user, cmd.group) },
    security,
  });
}

/**
 * The daemon's FIFOs as one NotifyLineSink: hand it to the Notifier once, and call
 * configure() at start-up and on every reload. FIFOs whose configuration did not
 * change keep their file descriptor and reader script.
 */
export class NotifyFifos implements NotifyLineSink {
  readonly #o: NotifyFifosOptions;
  #users: ScriptUsers;
  #writers = new Map<string, { writer: FifoWriter; fingerprint: string }>();

  constructor(opts: NotifyFifosOptions) {
    this.#o = opts;
    this.#users = opts.users;
  }

  /** Starts, keeps or replaces notify_fifo and vrrp_notify_fifo; `users` when script users were re-read. */
  async configure(global: FifoConfigs, users?: ScriptUsers): Promise<void> {
    if (users !== undefined) this.#users = users;
    const wanted = new Map<string, NotifyFifo>();
    if (global.notifyFifo !== null) wanted.set('notify_fifo', global.notifyFifo);
    if (global.vrrpNotifyFifo !== null) wanted.set('vrrp_notify_fifo', global.vrrpNotifyFifo);
    const stops: Promise<void>[] = [];
    for (const [keyword, cur] of this.#writers) {
      const next = wanted.get(keyword);
      if (next !== undefined && fingerprint(next, this.#users, global.enableScriptSecurity) === cur.fingerprint) continue;
      this.#writers.delete(keyword);
      stops.push(cur.writer.close());
    }
    await Promise.all(stops);
    const starts: Promise<void>[] = [];
    for (const [keyword, fifo] of wanted) {
      if (this.#writers.has(keyword)) continue;
      const opts: FifoWriterOptions = {
        fifo,
        keyword,
        users: this.#users,
        log: this.#o.log,
        scriptSecurity: global.enableScriptSecurity,
        ...(this.#o.mode !== undefined ? { mode: this.#o.mode } : {}),
        ...(this.#o.killGraceMs !== undefined ? { killGraceMs: this.#o.killGraceMs } : {}),
      };
      const writer = this.#o.create ? this.#o.create(opts) : new FifoWriter(opts);
      this.#writers.set(keyword, { writer, fingerprint: fingerprint(fifo, this.#users, global.enableScriptSecurity) });
      starts.push(writer.start());
    }
    await Promise.all(starts);
  }

  write(line: string): void {
    for (const { writer } of this.#writers.values()) writer.write(line);
  }

  stopScripts(): void {
    for (const { writer } of this.#writers.values()) writer.stopScript();
  }

  stats(): FifoStats[] {
    return [...this.#writers.values()].map(({ writer }) => writer.stats());
  }

  async close(): Promise<void> {
    const all = [...this.#writers.values()];
    this.#writers.clear();
    await Promise.all(all.map(({ writer }) => writer.close()));
  }
}
