/**
 * Diagnostics of the config language: every one names a file, a line and a column,
 * and prints compiler style (`file:line:col: error: message`) so editors can jump to it.
 */

/** A position in a config file; line and col count from 1. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  readonly severity: Severity;
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col}: ${d.severity}: ${d.message}`;
}

export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === 'error');
}

/** Source order: by file (first appearance), then line, then column. Stable otherwise. */
export function sortDiagnostics(diags: readonly Diagnostic[], fileOrder: readonly string[] = []): Diagnostic[] {
  const rank = new Map<string, number>();
  fileOrder.forEach((f, i) => {
    if (!rank.has(f)) rank.set(f, i);
  });
  return diags
    .map((d, i) => ({ d, i }))
    .sort((a, b) => {
      const fa = rank.get(a.d.file) ?? Number.MAX_SAFE_INTEGER;
      const fb = rank.get(b.d.file) ?? Number.MAX_SAFE_INTEGER;
      if (fa !== fb) return fa - fb;
      if (a.d.file !== b.d.file) return a.d.file < b.d.file ? -1 : 1;
      return a.d.line - b.d.line || a.d.col - b.d.col || a.i - b.i;
    })
    .map((x) => x.d);
}

/** Collects diagnostics; the parser layers share one. */
export class DiagnosticBag {
  readonly items: Diagnostic[] = [];

  error(loc: SourceLocation, message: string): void {
    this.items.push({ severity: 'error', file: loc.file, line: loc.line, col: loc.col, message });
  }

  warning(loc: SourceLocation, message: string): void {
    this.items.push({ severity: 'warning', file: loc.file, line: loc.line, col: loc.col, message });
  }

  get hasErrors(): boolean {
    return hasErrors(this.items);
  }
}
