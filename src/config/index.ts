/**
 * The config language: keepalived.conf → validated model + diagnostics.
 *
 *   loadConfig(path)       blocking reads; for start-up and `vipd -t`
 *   loadConfigAsync(path)  fs/promises; for the daemon's reload path
 *   hostChecks(config)     host-dependent warnings (interfaces, scripts)
 *   lintCluster(configs)   the configs of one cluster's hosts, checked against each other
 */
import { hostname as osHostname } from 'node:os';
import { isAbsolute, relative, resolve } from 'node:path';
import { buildConfig } from './build.js';
import { DiagnosticBag, hasErrors, sortDiagnostics, type Diagnostic } from './diagnostics.js';
import { tokenize } from './lexer.js';
import type { Config } from './model.js';
import { parse } from './parser.js';
import { preprocess, preprocessText } from './preprocess.js';
import { runAsync, runSync, type ConfigFsAsync, type ConfigFsSync, type FsTask } from './source.js';

export { formatDiagnostic, hasErrors, sortDiagnostics, type Diagnostic, type Severity, type SourceLocation } from './diagnostics.js';
export type * from './model.js';
export { hostChecks, hostChecksAsync, type HostProbe } from './host-checks.js';
export { lintCluster } from './lint.js';
export { memoryFs, nodeFsAsync, nodeFsSync, type ConfigFsAsync, type ConfigFsSync } from './source.js';

export const DEFAULT_CONFIG_FILE = '/etc/keepalived/keepalived.conf';

export interface LoadOptions {
  /** Matched by `@ID` lines; default the short host name (up to the first dot). */
  readonly configId?: string;
  /** Default router_id; default the host name. */
  readonly hostname?: string;
  /** Relative paths resolve against this (default process.cwd()). */
  readonly cwd?: string;
}

export interface LoadResult {
  /** null when there is at least one error. */
  readonly config: Config | null;
  /** Errors and warnings in file order. */
  readonly diagnostics: Diagnostic[];
}

export function shortHostname(): string {
  return osHostname().split('.')[0] ?? 'localhost';
}

function* loadTask(path: string, opts: LoadOptions): FsTask<LoadResult> {
  const cwd = opts.cwd ?? process.cwd();
  const abs = resolve(cwd, path);
  const display = isAbsolute(path) ? (p: string): string => p : (p: string): string => relative(cwd, p) || p;
  const configId = opts.configId ?? shortHostname();
  const diags = new DiagnosticBag();
  const pre = yield* preprocess(abs, { configId, display }, diags);
  const config = buildConfig(parse(tokenize(pre.lines), diags), diags, {
    configId,
    hostname: opts.hostname ?? osHostname(),
    files: pre.files,
  });
  const diagnostics = sortDiagnostics(diags.items, pre.files.map(display));
  return { config: hasErrors(diagnostics) || pre.files.length === 0 ? null : config, diagnostics };
}

/** Reads and validates a config (and its includes) with blocking reads. */
export function loadConfig(path: string, opts: LoadOptions & { readonly fs?: ConfigFsSync } = {}): LoadResult {
  return runSync(loadTask(path, opts), opts.fs);
}

/** The same as loadConfig, reading with fs/promises so the event loop never blocks. */
export function loadConfigAsync(path: string, opts: LoadOptions & { readonly fs?: ConfigFsAsync } = {}): Promise<LoadResult> {
  return runAsync(loadTask(path, opts), opts.fs);
}

/**
 * Parses config text that is not on disk (`include` finds nothing). The model is
 * returned even when there are errors, for tests that look at both.
 */
export function parseConfigText(
  text: string,
  opts: { readonly file?: string; readonly configId?: string; readonly hostname?: string } = {},
): { config: Config; diagnostics: Diagnostic[] } {
  const file = opts.file ?? 'keepalived.conf';
  const configId = opts.configId ?? 'vipd';
  const diags = new DiagnosticBag();
  const pre = preprocessText(text, file, { configId }, diags);
  const config = buildConfig(parse(tokenize(pre.lines), diags), diags, { configId, hostname: opts.hostname ?? 'localhost', files: [] });
  return { config, diagnostics: sortDiagnostics(diags.items, [file]) };
}
