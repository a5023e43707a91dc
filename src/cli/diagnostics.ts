/** Shared CLI plumbing: output sinks, diagnostic printing, commander usage errors → exit 2. */
import { CommanderError } from 'commander';
import { formatDiagnostic, type Diagnostic } from '../config/index.js';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: CliIo = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
};

/** Exit status of the CLI contract: 0 no error (warnings allowed), 1 errors, 2 usage. */
export const EXIT_OK = 0;
export const EXIT_ERRORS = 1;
export const EXIT_USAGE = 2;

export function printDiagnostics(io: CliIo, diags: readonly Diagnostic[]): void {
  for (const d of diags) io.err(`${formatDiagnostic(d)}\n`);
}

export function countOf(diags: readonly Diagnostic[]): { errors: number; warnings: number } {
  const errors = diags.filter((d) => d.severity === 'error').length;
  return { errors, warnings: diags.length - errors };
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Maps an error thrown by commander's exitOverride() to an exit status; rethrows others. */
export function commanderExit(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  throw err;
}

/** Ends the process once stdout/stderr have been handed to the kernel. */
export function exitAfterFlush(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}
