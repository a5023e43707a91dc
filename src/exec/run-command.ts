/**
 * Runs a health or notify script without a shell, never blocking the event loop.
 * The child gets its own process group so a timeout kills whatever it forked:
 * SIGTERM first, SIGKILL after a grace period. Output is drained (a child blocked on
 * a full pipe would look hung) and only the first `maxOutputBytes` are kept.
 */
import { spawn } from 'node:child_process';

export interface RunOptions {
  readonly argv: readonly string[];
  readonly timeoutMs: number;
  /** After SIGTERM at the timeout, SIGKILL follows this much later (default 2000). */
  readonly killGraceMs?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly env?: NodeJS.ProcessEnv;
  /** Bytes of stdout+stderr kept for the log (default 4096); the rest is read and dropped. */
  readonly maxOutputBytes?: number;
}

export type RunOutcome =
  | { readonly kind: 'exit'; readonly code: number }
  | { readonly kind: 'signal'; readonly signal: string }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'error'; readonly message: string; readonly errno?: string };

export interface RunResult {
  readonly outcome: RunOutcome;
  readonly output: string;
  readonly truncated: boolean;
  readonly durationMs: number;
}

export function describeOutcome(o: RunOutcome): string {
  switch (o.kind) {
    case 'exit':
      return `exited with status ${o.code}`;
    case 'signal':
      return `killed by ${o.signal}`;
    case 'timeout':
      return 'timed out';
    case 'error':
      return `could not be started: ${o.message}`;
  }
}

export function runCommand(opts: RunOptions): Promise<RunResult> {
  const started = performance.now();
  const maxOutput = opts.maxOutputBytes ?? 4096;
  const [file, ...args] = opts.argv;
  return new Promise<RunResult>((resolve) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let truncated = false;
    let timedOut = false;
    let settled = false;
    let termTimer: NodeJS.Timeout | undefined;
    let killTimer: NodeJS.Timeout | undefined;

    const finish = (outcome: RunOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(termTimer);
      clearTimeout(killTimer);
      resolve({
        outcome,
        output: Buffer.concat(chunks).toString('utf8'),
        truncated,
        durationMs: performance.now() - started,
      });
    };

    if (file === undefined || file === '') {
      finish({ kind: 'error', message: 'empty command' });
      return;
    }

    let child;
    try {
      child = spawn(file, args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // own process group, so the timeout can kill its children too
        env: opts.env ?? process.env,
        ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
        ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      finish({ kind: 'error', message: e.message, ...(e.code ? { errno: e.code } : {}) });
      return;
    }

    const collect = (chunk: Buffer): void => {
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

    const killGroup = (signal: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // the group is already gone
      }
    };

    termTimer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), opts.killGraceMs ?? 2000);
    }, opts.timeoutMs);

    child.on('error', (err: NodeJS.ErrnoException) => {
      finish({ kind: 'error', message: err.message, ...(err.code ? { errno: err.code } : {}) });
    });
    child.on('exit', (code, signal) => {
      // Grandchildren may keep our pipes open; we stop reading so they cannot pin us.
      child.stdout.destroy();
      child.stderr.destroy();
      if (timedOut) finish({ kind: 'timeout' });
      else if (signal !== null) finish({ kind: 'signal', signal });
      else finish({ kind: 'exit', code: code ?? 0 });
    });
  });
}

/**
 * Splits a keepalived script line into argv the way keepalived does: whitespace
 * separates words, '…' and "…" group (quotes removed), a backslash escapes the next
 * character outside single quotes. No globbing, no variables, no shell operators.
 */
export function splitCommandLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote !== null) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}
