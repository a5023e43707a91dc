/**
 * Logging: pino JSON lines on stdout (journald/systemd friendly) by default, or with
 * `-l` short human lines on stderr that keep keepalived's words, e.g.
 * `12:00:01.123 INFO  (VI_1) Entering MASTER STATE`.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

export interface LogOptions {
  readonly console?: boolean; // -l
  readonly detail?: boolean; // -D
  /** Where lines go; defaults to stdout (JSON) or stderr (console). Tests pass their own. */
  readonly destination?: { write(line: string): unknown };
}

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'instance', 'vrid']);

/** Renders one pino JSON line as a human line. Exported for tests. */
export function humanLine(json: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = typeof rec['time'] === 'number' ? new Date(rec['time']).toISOString().slice(11, 23) : '';
  const level = LEVELS[rec['level'] as number] ?? String(rec['level']);
  const extras = Object.entries(rec)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => {
      if (k === 'err' && typeof v === 'object' && v !== null) {
        return `err=${JSON.stringify((v as { message?: unknown }).message ?? v)}`;
      }
      return `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`;
    });
  return `${time} ${level} ${String(rec['msg'] ?? '')}${extras.length ? '  ' + extras.join(' ') : ''}\n`;
}

export function createLogger(opts: LogOptions = {}): Logger {
  const level = opts.detail ? 'debug' : 'info';
  const out = opts.destination ?? (opts.console ? process.stderr : process.stdout);
  const stream: DestinationStream = opts.console
    ? { write: (line: string) => out.write(humanLine(line)) }
    : { write: (line: string) => out.write(line) };
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.epochTime }, stream);
}
