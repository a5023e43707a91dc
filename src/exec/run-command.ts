/**
 * Runs a health or notify script without a shell, never blocking the event loop.
 * The child gets its own process group so a timeout kills whatever it forked:
 * SIGTERM first, SIGKILL to the whole group after a grace period (keepalived,
 * vrrp_scheduler.c vrrp_script_child_thread). Output is drained (a child blocked on
 * a full pipe would look hung) and only the first `maxOutputBytes` are kept.
 *
 * The run ends when the script itself exits. A background process it started keeps
 * running (keepalived does not kill it either) and may still hold the pipes: they are
 * then read and discarded until it closes them, unref'd, so it never gets SIGPIPE
 * and never keeps the daemon alive.
 */
import { spawn } from 'node:child_process';

export interface RunOptions {
  readonly argv: readonly string[];
  /** SIGTERM after this long; null = never (a notify_fifo_script runs until stopped). */
  readonly timeoutMs: number | null;
  /** After SIGTERM (timeout or abort), SIGKILL to the group follows this much later (default 2000). */
  readonly killGraceMs?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Bytes of stdout+stderr kept for the log (default 4096); the rest is read and dropped. */
  readonly maxOutputBytes?: number;
  /** Aborting stops the run like a timeout does (SIGTERM, SIGKILL after the grace); outcome 'aborted'. */
  readonly signal?: AbortSignal;
  /** Called once the child exists (tests and owners that want to know the pid / process group). */
  readonly onSpawn?: (pid: number) => void;
}

export type RunOutcome =
  | { readonly kind: 'exit'; readonly code: number }
  | { readonly kind: 'signal'; readonly signal: string }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'aborted' }
  | { readonly kind: 'error'; readonly message: string; readonly errno?: string };

export interface RunResult {
  readonly outcome: RunOutcome;
  readonly output: string;
  readonly truncated: boolean;
  readonly durationMs: number;
  /**
   * The script exited but processes it started still run in its process group (this id):
   * the owner may end them with killLeftovers() when it stops.
   */
  readonly leftoverGroup?: number;
}

export function describeOutcome(o: RunOutcome): string {
  switch (o.kind) {
    case 'exit':
      return `exited with status ${o.code}`;
    case 'signal':
      return `killed by ${o.signal}`;
    case 'timeout':
      return 'timed out';
    case 'aborted':
      return 'was stopped';
    case 'error':
      return `could not be started: ${o.message}`;
  }
}

/** How long output still in the pipes is collected after the child exited. */
const OUTPUT_SETTLE_MS = 50;

export function runCommand(opts: RunOptions): Promise<RunResult> {
  const started = performance.now();
  const maxOutput = opts.maxOutputBytes ?? 4096;
  const grace = opts.killGraceMs ?? 2000;
  const [file, ...args] = opts.argv;
  return new Promise<RunResult>((resolve) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let truncated = false;
    let stopping: 'timeout' | 'aborted' | null = null;
    let exited = false;
    let settled = false;
    let termTimer: NodeJS.Timeout | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;

    const finish = (outcome: RunOutcome, leftoverGroup?: number): void => {
      if (settled) return;
      settled = true;
      clearTimeout(termTimer);
      clearTimeout(killTimer);
      if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
      resolve({
        outcome,
        output: Buffer.concat(chunks).toString('utf8'),
        truncated,
        durationMs: performance.now() - started,
        ...(leftoverGroup !== undefined ? { leftoverGroup } : {}),
      });
    };

    if (file === undefined || file === '') {
      finish({ kind: 'error', message: 'empty command' });
      return;
    }
    if (opts.signal?.aborted) {
      finish({ kind: 'aborted' });
      return;
    }

    let child;
    try {
      child = spawn(file, args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // own process group, so the timeout can kill its children too
        env: opts.env ?? process.env,
        ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
        ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
        ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      finish({ kind: 'error', message: e.message, ...(e.code ? { errno: e.code } : {}) });
      return;
    }
    const pid = child.pid;
    if (pid !== undefined) opts.onSpawn?.(pid);

    const collect = (chunk: Buffer): void => {
      if (settled) return; // a leftover background process still writing: drop it
      if (kept < maxOutput) {
        const take = chunk.subarray(0, maxOutput - kept);
        chunks.push(take);
        kept += take.length;
        if (take.length < chunk.length) truncated = true;
      } else {
        truncated = true;
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    // EPIPE/ECONNRESET on a pipe after the child is gone is not our failure.
    child.stdout.on('error', () => undefined);
    child.stderr.on('error', () => undefined);

    const killGroup = (signal: NodeJS.Signals): void => {
      if (pid === undefined) return;
      try {
        process.kill(-pid, signal);
      } catch {
        // the group is already gone
      }
    };
    const stop = (why: 'timeout' | 'aborted'): void => {
      if (stopping !== null || exited) return;
      stopping = why;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), grace);
    };

    if (opts.timeoutMs !== null) termTimer = setTimeout(() => stop('timeout'), opts.timeoutMs);
    if (opts.signal) {
      onAbort = () => stop('aborted');
      opts.signal.addEventListener('abort', onAbort, { once: true });
    }

    child.on('error', (err: NodeJS.ErrnoException) => {
      // spawn failures (ENOENT, EACCES, EPERM for setuid) arrive here, with no 'exit'.
      finish({ kind: 'error', message: err.message, ...(err.code ? { errno: err.code } : {}) });
    });
    child.on('exit', (code, signal) => {
      exited = true;
      clearTimeout(termTimer);
      const outcome: RunOutcome =
        stopping !== null
          ? { kind: stopping }
          : signal !== null
            ? { kind: 'signal', signal }
            : { kind: 'exit', code: code ?? 0 };
      // keepalived: once a stopped script is gone, SIGKILL whatever is left of its group.
      if (stopping !== null) killGroup('SIGKILL');
      const leftover = stopping === null && pid !== undefined && groupAlive(pid) ? pid : undefined;
      const streams = [child.stdout, child.stderr];
      const open = new Set(streams.filter((s) => !s.readableEnded && !s.destroyed));
      const done = (): void => {
        clearTimeout(settleTimer);
        finish(outcome, leftover);
        // Keep draining what a background child may still write, without holding the loop.
        for (const s of streams) (s as unknown as { unref?: () => void }).unref?.();
      };
      const settleTimer = setTimeout(done, OUTPUT_SETTLE_MS);
      if (open.size === 0) done();
      for (const s of open) {
        const ended = (): void => {
          open.delete(s);
          if (open.size === 0) done();
        };
        s.once('end', ended).once('close', ended);
      }
    });
  });
}

/** Whether process group `pgid` still has a member. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether `pgid` is still the group a finished script left behind. While any member lives
 * the kernel keeps the number, so no new process can have it as its pid; a group of that
 * number with a live process of that pid is someone else's (the number was reused).
 */
export function isLeftoverGroup(pgid: number): boolean {
  if (!groupAlive(pgid)) return false;
  try {
    process.kill(pgid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Ends the processes finished scripts left behind (their process groups): SIGTERM, then
 * SIGKILL to what is still there after `graceMs`. Resolves when done.
 */
export async function killLeftovers(groups: Iterable<number>, graceMs = 300): Promise<void> {
  const signal = (list: number[], sig: NodeJS.Signals): number[] =>
    list.filter((g) => {
      if (!isLeftoverGroup(g)) return false;
      try {
        process.kill(-g, sig);
        return true;
      } catch {
        return false;
      }
    });
  let left = signal([...groups], 'SIGTERM');
  const deadline = performance.now() + graceMs;
  while (left.length > 0 && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    left = left.filter(groupAlive);
  }
  signal(left, 'SIGKILL');
}

/** One word for /bin/sh, whatever it contains: single-quoted, embedded quotes escaped. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
