/**
 * `npm run bench` (as root): vipd and keepalived side by side on the same topologies in
 * network namespaces; prints a Markdown table and writes it to bench/results/latest.md.
 * Not a pass/fail test: a missed target is marked in the table, the exit status is 0
 * unless the bench itself could not run.
 *
 *   npm run bench                    quick: N=10 trials, 20 s cost windows, 2 min false-failover run
 *   npm run bench -- --full          60 s windows, 10 min false-failover run, N=20
 *   npm run bench -- --only cost     one or more of failover,cost,false-failovers
 *   npm run bench -- --help          every option
 *
 * Progress goes to stderr. Namespaces and processes are removed at the end, also on
 * Ctrl-C (test/helpers/netns.ts has the safety net).
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, release, tmpdir, arch } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { Lan, netnsUnavailableReason } from '../test/helpers/netns.js';
import { COST_EXTRA_INTERFACES, COST_HOSTS, COST_SUBNET, runCost, type CostResults } from './cost.js';
import { FAILOVER_HOSTS, runFailover, type FailoverResults } from './failover.js';
import { FF_HOSTS, runFalseFailovers, type FalseFailoverResults } from './false-failover.js';
import { IMPLS, type Impl } from './lib/daemons.js';
import { describeHog, pickHog, type HogKind } from './lib/hog.js';
import { addInterfaces } from './lib/topology.js';
import { report } from './report.js';

const SECTIONS = ['failover', 'cost', 'false-failovers'] as const;
type Section = (typeof SECTIONS)[number];
const REPO = resolve(fileURLToPath(import.meta.url), '..', '..', '..');

const USAGE = `usage: npm run bench -- [options]        (as root)
  --full                 the issue's durations: 60 s cost windows, 10 min false-failover run, 20 trials
  --trials <n>           failover trials per implementation (quick 10, full 20)
  --window <s>           cost window in seconds (quick 20, full 60)
  --ff-minutes <m>       false-failover run in minutes (quick 2, full 10)
  --only <list>          sections, comma-separated: ${SECTIONS.join(',')}
  --impl <name>          only vipd or only keepalived
  --hog <kind>           auto (stress-ng if installed), stress-ng or node
  --vipd-node-args=<s>   extra node options for vipd, e.g. --vipd-node-args="--cpu-prof --cpu-prof-dir=/tmp/prof"
  --out <file>           where the Markdown goes (default bench/results/latest.md)
  --keep                 keep the work directory (configs, captures) and print its path`;

const progressT0 = performance.now();
const progress = (msg: string): void => {
  process.stderr.write(`[${((performance.now() - progressT0) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`);
};

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        full: { type: 'boolean', default: false },
        trials: { type: 'string' },
        window: { type: 'string' },
        'ff-minutes': { type: 'string' },
        only: { type: 'string' },
        impl: { type: 'string' },
        hog: { type: 'string', default: 'auto' },
        'vipd-node-args': { type: 'string' },
        out: { type: 'string' },
        keep: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const num = (v: string | undefined, dflt: number, what: string): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${what} must be a positive number, got "${v}"`);
    return n;
  };
  let trials: number, windowSec: number, ffMinutes: number, sections: Section[], impls: readonly Impl[], hogWanted: HogKind | 'auto';
  try {
    trials = Math.round(num(args.trials, args.full ? 20 : 10, 'trials'));
    windowSec = num(args.window, args.full ? 60 : 20, 'window');
    ffMinutes = num(args['ff-minutes'], args.full ? 10 : 2, 'ff-minutes');
    sections = args.only === undefined ? [...SECTIONS] : args.only.split(',').map((s) => s.trim()) as Section[];
    for (const s of sections) if (!SECTIONS.includes(s)) throw new Error(`--only: unknown section "${s}" (have ${SECTIONS.join(', ')})`);
    impls = args.impl === undefined ? IMPLS : [args.impl as Impl];
    if (!impls.every((i) => IMPLS.includes(i))) throw new Error(`--impl must be vipd or keepalived, got "${args.impl}"`);
    hogWanted = args.hog as HogKind | 'auto';
    if (!['auto', 'stress-ng', 'node'].includes(hogWanted)) throw new Error(`--hog must be auto, stress-ng or node, got "${args.hog}"`);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const why = netnsUnavailableReason();
  if (why !== undefined) {
    process.stderr.write(`npm run bench: ${why}. Run it as root (it builds network namespaces).\n`);
    return 2;
  }
  const nodeArgs = args['vipd-node-args']?.split(/\s+/).filter(Boolean) ?? [];
  const daemonOptions = { nodeArgs };
  const hog = await pickHog(hogWanted);
  const load0 = loadavg()[0] as number;
  const started = new Date();

  const dir = await mkdtemp(join(tmpdir(), 'vipd-bench-'));
  await chmod(dir, 0o700);
  if (!args.keep) {
    // Lan's safety net tears the namespaces down on a signal; the files are ours.
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(sig, () => {
        rmSync(dir, { recursive: true, force: true });
        if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
      });
    }
  }
  const failures: string[] = [];
  let failover: FailoverResults | undefined;
  let cost: CostResults | undefined;
  let falseFailovers: FalseFailoverResults | undefined;
  progress(`work directory ${dir}; sections ${sections.join(', ')}; ${impls.join(' and ')}`);
  try {
    if (sections.includes('failover')) {
      const lan = await Lan.create({ hosts: FAILOVER_HOSTS, subnet: '10.76.0' });
      try {
        failover = await runFailover({ lan, dir, trials, impls, daemonOptions, progress, failures });
      } finally {
        await lan.destroy();
      }
    }
    if (sections.includes('cost')) {
      const lan = await Lan.create({ hosts: COST_HOSTS, subnet: COST_SUBNET(0) });
      try {
        await addInterfaces(lan, COST_EXTRA_INTERFACES, COST_SUBNET);
        cost = await runCost({ lan, dir, windowSec, impls, hog, daemonOptions, progress, failures });
      } finally {
        await lan.destroy();
      }
    }
    if (sections.includes('false-failovers')) {
      const lan = await Lan.create({ hosts: FF_HOSTS, subnet: '10.78.0' });
      try {
        falseFailovers = await runFalseFailovers({ lan, dir, minutes: ffMinutes, impls, hog, daemonOptions, progress, failures });
      } finally {
        await lan.destroy();
      }
    }
  } finally {
    if (args.keep) progress(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }

  const tookMin = (performance.now() - progressT0) / 60_000;
  const header = [
    `Date: ${started.toISOString()}`,
    `Machine: ${await machine()}`,
    `Mode: ${args.full ? 'full' : 'quick'} (${trials} failover trials per implementation; cost windows ${windowSec} s; ` +
      `false-failover run ${ffMinutes} min; CPU hog: ${describeHog(hog)})${sections.length < SECTIONS.length ? `; sections: ${sections.join(', ')}` : ''}`,
    `Load average (1 min) at start / end: ${load0.toFixed(2)} / ${(loadavg()[0] as number).toFixed(2)}; took ${tookMin.toFixed(1)} min`,
    `vipd runs as \`node bin/vipd -f <conf> --control-socket <sock> -p <pid>\`${nodeArgs.length ? ` with node options \`${nodeArgs.join(' ')}\`` : ''}; ` +
      'keepalived as `keepalived -n -l -D -P -R -f <conf> -p -r -c`',
  ];
  const md = report({ header, ...(failover ? { failover } : {}), ...(cost ? { cost } : {}), ...(falseFailovers ? { falseFailovers } : {}), ffMinutes, failures });
  process.stdout.write(`${md}\n`);
  const out = args.out ?? join(REPO, 'bench', 'results', 'latest.md');
  await mkdir(join(out, '..'), { recursive: true });
  await writeFile(out, `${md}\n`);
  await writeFile(out.replace(/\.md$/, '') + '.json', `${JSON.stringify({ header, failover, cost, falseFailovers, failures }, null, 1)}\n`);
  progress(`wrote ${out}`);
  return 0;
}

async function machine(): Promise<string> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown CPU';
  const run = promisify(execFile);
  const version = async (file: string, argv: string[], re: RegExp): Promise<string> => {
    try {
      const { stdout, stderr } = await run(file, argv);
      return re.exec(`${stdout}\n${stderr}`)?.[1] ?? '?';
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      return re.exec(`${e.stdout ?? ''}\n${e.stderr ?? ''}`)?.[1] ?? 'not found';
    }
  };
  const ka = await version('keepalived', ['-v'], /Keepalived (v[\d.]+)/);
  const nginx = await version('nginx', ['-v'], /nginx\/([\d.]+)/);
  return `${model}, ${availableParallelism()} cores, Linux ${release()} ${arch()}, node ${process.version}, keepalived ${ka}, nginx ${nginx}`;
}

process.exitCode = await main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 1;
});
