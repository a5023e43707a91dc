/**
 * `vipd`: the daemon's entry point, with keepalived's flags where they exist.
 * `-t` checks the config (and the host) and exits, `-d` prints the validated model;
 * otherwise the daemon runs (src/daemon.ts, loaded on demand).
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { DEFAULT_CONTROL_SOCKET } from '../control/client.js';
import { DEFAULT_CONFIG_FILE, hostChecks, loadConfig, shortHostname, sortDiagnostics, type Diagnostic } from '../config/index.js';
import { commanderExit, countOf, EXIT_ERRORS, EXIT_OK, exitAfterFlush, plural, printDiagnostics, processIo, type CliIo } from './diagnostics.js';

/** What the daemon is started with (`runDaemon(options)` in src/daemon.ts). */
export interface DaemonOptions {
  /** -f: the keepalived.conf to run. */
  readonly configFile: string;
  /** -i: the id `@ID` lines match (default the short host name). */
  readonly configId: string;
  /** -l: human-readable log lines on stderr instead of pino JSON on stdout. */
  readonly logConsole: boolean;
  /** -D: debug-level logging. */
  readonly logDetail: boolean;
  /** -p: write the daemon's pid here (null: no pid file). */
  readonly pidFile: string | null;
  /** --control-socket: where vipctl connects. */
  readonly controlSocket: string;
  /** --watch: reload when the config file or an included file changes. */
  readonly watch: boolean;
}

interface Flags {
  useFile: string;
  configTest?: boolean;
  dumpConf?: boolean;
  configId?: string;
  logConsole?: boolean;
  logDetail?: boolean;
  pid?: string;
  controlSocket: string;
  watch?: boolean;
}

export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function program(io: CliIo): Command {
  return new Command('vipd')
    .description('VRRP daemon reading the VRRP part of keepalived.conf')
    .option('-f, --use-file <path>', 'configuration file', DEFAULT_CONFIG_FILE)
    .option('-t, --config-test', 'check the configuration (and this host) and exit: 0 ok, 1 errors')
    .option('-d, --dump-conf', 'print the validated configuration as JSON and exit')
    .option('-i, --config-id <id>', 'id matched by @id conditional lines (default: short host name)')
    .option('-l, --log-console', 'human-readable log lines on stderr')
    .option('-D, --log-detail', 'debug-level logging')
    .option('-p, --pid <file>', 'pid file')
    .option('--control-socket <path>', 'control socket for vipctl', DEFAULT_CONTROL_SOCKET)
    .option('--watch', 'reload when the configuration or an included file changes')
    .option('-n, --dont-fork', 'accepted for keepalived compatibility (vipd never forks)')
    .option('-P, --vrrp', 'accepted for keepalived compatibility (vipd only runs VRRP)')
    .version(packageVersion(), '-v, --version')
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });
}

/** `vipd -t`: config diagnostics plus host checks. */
function configTest(io: CliIo, file: string, configId: string): number {
  const res = loadConfig(file, { configId });
  let diags: Diagnostic[] = res.diagnostics;
  if (res.config !== null) diags = sortDiagnostics([...diags, ...hostChecks(res.config)], res.config.files);
  printDiagnostics(io, diags);
  const { errors, warnings } = countOf(diags);
  io.err(`${file}: ${errors === 0 ? 'configuration OK' : 'configuration has errors'} (${plural(errors, 'error')}, ${plural(warnings, 'warning')})\n`);
  return errors === 0 ? EXIT_OK : EXIT_ERRORS;
}

function dumpConf(io: CliIo, file: string, configId: string, quiet: boolean): number {
  const res = loadConfig(file, { configId });
  if (!quiet) printDiagnostics(io, res.diagnostics);
  if (res.config === null) return EXIT_ERRORS;
  io.out(`${JSON.stringify(res.config, null, 2)}\n`);
  return EXIT_OK;
}

/**
 * Runs the CLI without exiting: resolves with the exit status, or null when the
 * daemon was started and keeps running.
 */
export async function run(argv: readonly string[], io: CliIo = processIo): Promise<number | null> {
  const cmd = program(io);
  try {
    cmd.parse([...argv], { from: 'user' });
  } catch (err) {
    return commanderExit(err);
  }
  const f = cmd.opts<Flags>();
  const configId = f.configId ?? shortHostname();
  if (f.configTest || f.dumpConf) {
    let code = EXIT_OK;
    if (f.configTest) code = Math.max(code, configTest(io, f.useFile, configId));
    if (f.dumpConf) code = Math.max(code, dumpConf(io, f.useFile, configId, f.configTest === true));
    return code;
  }
  const options: DaemonOptions = {
    configFile: f.useFile,
    configId,
    logConsole: f.logConsole === true,
    logDetail: f.logDetail === true,
    pidFile: f.pid ?? null,
    controlSocket: f.controlSocket,
    watch: f.watch === true,
  };
  // Loaded on demand: the daemon (and its native modules) is not needed for -t/-d.
  const daemonModule = '../daemon.js';
  let mod: { runDaemon?: (o: DaemonOptions) => unknown };
  try {
    mod = (await import(daemonModule)) as typeof mod;
  } catch (err) {
    io.err(`vipd: cannot load the daemon: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_ERRORS;
  }
  if (typeof mod.runDaemon !== 'function') {
    io.err('vipd: the daemon module has no runDaemon()\n');
    return EXIT_ERRORS;
  }
  const result = await mod.runDaemon(options);
  return typeof result === 'number' ? result : null;
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  let code: number | null;
  try {
    code = await run(argv);
  } catch (err) {
    process.stderr.write(`vipd: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    code = EXIT_ERRORS;
  }
  if (code !== null) exitAfterFlush(code);
}
