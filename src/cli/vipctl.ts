/**
 * `vipctl`: the operator's tool. Each subcommand is one `register*` function below;
 * add new ones (status, reload, stats) to SUBCOMMANDS. An action reports its exit
 * status through `ctx.exit()`.
 */
import { Command } from 'commander';
import { DEFAULT_CONTROL_SOCKET, request } from '../control/client.js';
import { formatStats, formatStatus } from '../control/format.js';
import type { StatusDocument } from '../control/status.js';
import type { ReloadResult } from '../daemon.js';
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

/** Asks the daemon; a daemon that cannot be reached is exit status 1 with the reason. */
async function ask(ctx: VipctlContext, cmd: 'status' | 'stats' | 'reload'): Promise<unknown> {
  try {
    return await request(ctx.socket(), cmd);
  } catch (err) {
    ctx.io.err(`vipctl ${cmd}: ${err instanceof Error ? err.message : String(err)}\n`);
    ctx.exit(EXIT_ERRORS);
    return undefined;
  }
}

/** `vipctl status [--json]`: the instances as a table, or the status document. */
export const registerStatus: Subcommand = (program, ctx) => {
  program
    .command('status')
    .description('show the VRRP instances: state, priority, VIPs, master seen, last transition')
    .option('--json', 'print the status document as JSON')
    .action(async (opts: { json?: boolean }) => {
      const doc = (await ask(ctx, 'status')) as StatusDocument | undefined;
      if (doc === undefined) return;
      ctx.io.out(opts.json ? JSON.stringify(doc, null, 2) + '\n' : formatStatus(doc) + '\n');
    });
};

/** `vipctl stats [--json]`: advert counters and drops by reason. */
export const registerStats: Subcommand = (program, ctx) => {
  program
    .command('stats')
    .description('show advert counters and dropped packets by reason')
    .option('--json', 'print the counters as JSON')
    .action(async (opts: { json?: boolean }) => {
      const doc = (await ask(ctx, 'stats')) as StatusDocument | undefined;
      if (doc === undefined) return;
      if (opts.json) {
        const stats = { instances: doc.instances.map((i) => ({ name: i.name, stats: i.stats })), dropped: doc.dropped };
        ctx.io.out(JSON.stringify(stats, null, 2) + '\n');
      } else {
        ctx.io.out(formatStats(doc) + '\n');
      }
    });
};

/** `vipctl reload`: like SIGHUP, but waits and reports the outcome. */
export const registerReload: Subcommand = (program, ctx) => {
  program
    .command('reload')
    .description('reload the configuration; a broken one is refused and the running one kept')
    .action(async () => {
      const r = (await ask(ctx, 'reload')) as ReloadResult | undefined;
      if (r === undefined) return;
      for (const d of r.diagnostics) ctx.io.err(d + '\n');
      if (!r.ok) {
        ctx.io.err('vipctl reload: refused, vipd keeps running the previous configuration\n');
        ctx.exit(EXIT_ERRORS);
        return;
      }
      const part = (label: string, names: readonly string[]): string => `${names.length} ${label}${names.length ? ` (${names.join(', ')})` : ''}`;
      ctx.io.out(`reloaded: ${part('kept', r.kept)}, ${part('rebuilt', r.rebuilt)}, ${part('added', r.added)}, ${part('removed', r.removed)}\n`);
    });
};

export const SUBCOMMANDS: Subcommand[] = [registerStatus, registerStats, registerReload, registerLint];

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
