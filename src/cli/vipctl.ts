/**
 * `vipctl`: the operator's tool. Each subcommand is one `register*` function below;
 * add new ones (status, reload, stats) to SUBCOMMANDS. An action reports its exit
 * status through `ctx.exit()`.
 */
import { Command } from 'commander';
import { DEFAULT_CONTROL_SOCKET } from '../control/client.js';
import { hasErrors, lintCluster, loadConfig, shortHostname, type Config, type Diagnostic } from '../config/index.js';
import { commanderExit, countOf, EXIT_ERRORS, EXIT_OK, EXIT_USAGE, exitAfterFlush, plural, printDiagnostics, processIo, type CliIo } from './diagnostics.js';
import { packageVersion } from './vipd.js';

export interface VipctlContext {
  readonly io: CliIo;
  /** --socket, for subcommands that talk to the daemon. */
  socket(): string;
  /** Sets the exit status (the worst one reported wins). */
  exit(code: number): void;
}

export type Subcommand = (program: Command, ctx: VipctlContext) => void;

/** `vipctl lint <file>...`: each host's config, then the hosts against each other. */
export const registerLint: Subcommand = (program, ctx) => {
  program
    .command('lint')
    .description("check the configs of one cluster's hosts, each alone and against each other")
    .argument('<file...>', "one keepalived.conf per host (the same file twice with -i a,b for @id configs)")
    .option('-i, --config-id <ids>', 'config id for @id lines: one for all files, or one per file separated by commas')
    .action((files: string[], opts: { configId?: string }) => {
      const ids = (opts.configId ?? shortHostname()).split(',');
      if (ids.length !== 1 && ids.length !== files.length) {
        ctx.io.err(`vipctl lint: --config-id has ${ids.length} ids for ${files.length} files\n`);
        ctx.exit(EXIT_USAGE);
        return;
      }
      const all: Diagnostic[] = [];
      const loaded: { file: string; config: Config }[] = [];
      files.forEach((file, i) => {
        const res = loadConfig(file, { configId: ids.length === 1 ? (ids[0] ?? '') : (ids[i] ?? '') });
        all.push(...res.diagnostics);
        if (res.config !== null) loaded.push({ file, config: res.config });
      });
      const cross = lintCluster(loaded);
      all.push(...cross);
      printDiagnostics(ctx.io, all);
      const { errors, warnings } = countOf(all);
      ctx.io.err(`lint: ${plural(files.length, 'file')}, ${plural(errors, 'error')}, ${plural(warnings, 'warning')}\n`);
      ctx.exit(hasErrors(all) ? EXIT_ERRORS : EXIT_OK);
    });
};

export const SUBCOMMANDS: Subcommand[] = [registerLint];

export async function run(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let code = EXIT_OK;
  const program = new Command('vipctl')
    .description('control and check vipd')
    .option('--socket <path>', 'control socket of vipd', DEFAULT_CONTROL_SOCKET)
    .version(packageVersion(), '-v, --version')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  const ctx: VipctlContext = {
    io,
    socket: () => program.opts<{ socket: string }>().socket,
    exit: (c) => {
      code = Math.max(code, c);
    },
  };
  for (const register of SUBCOMMANDS) register(program, ctx);
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    return commanderExit(err);
  }
  return code;
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  let code: number;
  try {
    code = await run(argv);
  } catch (err) {
    process.stderr.write(`vipctl: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    code = EXIT_ERRORS;
  }
  exitAfterFlush(code);
}
