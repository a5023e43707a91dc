/**
 * Runs vipd daemons on a test LAN (test/helpers/netns.ts) and talks to them the way an
 * operator does: the human log (-l -D on stderr), the control socket, signals.
 *
 *   const dir = await mkdtemp(join(tmpdir(), 'vipd-'));
 *   const h1 = await VipdHost.start(lan, 'h1', dir, vrrpConf({ routerId: 'h1', instances: [vi1] }));
 *   await h1.waitForState('VI_1', 'MASTER');
 *   const doc = await h1.status();
 *   await h1.stop();                      // SIGTERM, waits for the exit
 *
 * Each host gets its own files in `dir`: <host>.conf, <host>.sock, <host>.pid. The
 * control socket is a path on the shared filesystem, so the test process reaches it
 * from the root namespace.
 */
import { execFile } from 'node:child_process';
import { copyFile, chmod, readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from '../../src/control/client.js';
import type { InstanceStatus, StatusDocument } from '../../src/control/status.js';
import type { ExitStatus, Lan, NsProcess } from './netns.js';

/** The repository root (dist/test/helpers → ../../..). */
export const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..');
export const VIPD_BIN = join(REPO_ROOT, 'bin', 'vipd');
export const VIPCTL_BIN = join(REPO_ROOT, 'bin', 'vipctl');
/** Health-check and notify scripts for the tracking tests (see its README.txt). */
export const TRACK_FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'track');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface InstanceSpec {
  readonly name: string;
  readonly state: 'MASTER' | 'BACKUP';
  readonly vrid: number;
  readonly priority: number;
  /** "10.10.1.100/24" and the like. */
  readonly vips: readonly string[];
  readonly interface?: string;
  /** advert_int in seconds (default 1). */
  readonly advertInt?: number;
  readonly nopreempt?: boolean;
  /** auth_type PASS with this password. */
  readonly authPass?: string;
  readonly unicast?: { readonly src: string; readonly peers: readonly string[] };
  /** Extra lines inside the vrrp_instance block. */
  readonly extra?: readonly string[];
}

export interface ConfSpec {
  readonly routerId: string;
  readonly instances: readonly InstanceSpec[];
  /** Extra lines at the top of the file (comments, other blocks). */
  readonly preamble?: readonly string[];
}

/** A keepalived.conf with one vrrp_instance per spec, in keepalived's usual layout. */
export function vrrpConf(spec: ConfSpec): string {
  const out: string[] = [...(spec.preamble ?? []), 'global_defs {', `    router_id ${spec.routerId}`, '}', ''];
  for (const i of spec.instances) {
    out.push(
      `vrrp_instance ${i.name} {`,
      `    state ${i.state}`,
      `    interface ${i.interface ?? 'eth0'}`,
      `    virtual_router_id ${i.vrid}`,
      `    priority ${i.priority}`,
      `    advert_int ${i.advertInt ?? 1}`,
    );
    if (i.nopreempt) out.push('    nopreempt');
    if (i.authPass !== undefined) {
      out.push('    authentication {', '        auth_type PASS', `        auth_pass ${i.authPass}`, '    }');
    }
    if (i.unicast) {
      out.push(`    unicast_src_ip ${i.unicast.src}`, '    unicast_peer {', ...i.unicast.peers.map((p) => `        ${p}`), '    }');
    }
    out.push('    virtual_ipaddress {', ...i.vips.map((v) => `        ${v}`), '    }');
    out.push(...(i.extra ?? []).map((l) => `    ${l}`), '}', '');
  }
  return out.join('\n');
}

/** RFC 3768 §6.1: Master_Down_Interval in ms for a v2 backup of `priority`. */
export function masterDownMs(priority: number, advertIntSec = 1): number {
  return 3 * advertIntSec * 1000 + skewMs(priority);
}

/** RFC 3768 §6.1: Skew_Time in ms. */
export function skewMs(priority: number): number {
  return ((256 - priority) * 1000) / 256;
}

export interface VipdStartOptions {
  /** Start with --watch. */
  readonly watch?: boolean;
  /** Echo the daemon's log lines to the test's stderr (debugging). */
  readonly echo?: boolean;
  /** Wait for the "vipd started" log line (default true). */
  readonly waitStarted?: boolean;
  /** Control socket path (default <dir>/<host>.sock). */
  readonly socket?: string;
}

/** One vipd process in one LAN host, with its config, control socket and pid file. */
export class VipdHost {
  readonly lan: Lan;
  readonly host: string;
  readonly confPath: string;
  readonly socket: string;
  readonly pidFile: string;
  readonly #opts: VipdStartOptions;
  #proc!: NsProcess;

  private constructor(lan: Lan, host: string, dir: string, opts: VipdStartOptions) {
    this.lan = lan;
    this.host = host;
    this.confPath = join(dir, `${host}.conf`);
    this.socket = opts.socket ?? join(dir, `${host}.sock`);
    this.pidFile = join(dir, `${host}.pid`);
    this.#opts = opts;
  }

  /** Writes the config to <dir>/<host>.conf and starts vipd with it. */
  static async start(lan: Lan, host: string, dir: string, conf: string, opts: VipdStartOptions = {}): Promise<VipdHost> {
    const h = new VipdHost(lan, host, dir, opts);
    await h.writeConfig(conf);
    await h.restart();
    return h;
  }

  get proc(): NsProcess {
    return this.#proc;
  }

  get pid(): number | undefined {
    return this.#proc.pid;
  }

  get running(): boolean {
    return this.#proc.running;
  }

  /** Every log line so far (the human log goes to stderr; stdout is checked too). */
  get log(): string[] {
    return [...this.#proc.stderr, ...this.#proc.stdout];
  }

  async writeConfig(conf: string): Promise<void> {
    await writeFile(this.confPath, conf);
  }

  /** Starts vipd again with the same files (after stop() or kill()). */
  async restart(): Promise<void> {
    if (this.#proc?.running) throw new Error(`vipd on ${this.host} is still running`);
    const argv = [
      process.execPath, VIPD_BIN, '-l', '-D', '-f', this.confPath,
      '--control-socket', this.socket, '-p', this.pidFile,
      ...(this.#opts.watch ? ['--watch'] : []),
    ];
    this.#proc = this.lan.spawn(this.host, argv, { cwd: REPO_ROOT, ...(this.#opts.echo ? { echo: true } : {}) });
    if (this.#opts.waitStarted ?? true) await this.#proc.waitForLine(/vipd started/, { timeoutMs: 20_000 });
  }

  /** The status document over the control socket. */
  async status(): Promise<StatusDocument> {
    return (await request(this.socket, 'status')) as StatusDocument;
  }

  async instance(name: string): Promise<InstanceStatus> {
    const doc = await this.status();
    const i = doc.instances.find((x) => x.name === name);
    if (!i) throw new Error(`${this.host}: no instance ${name} in ${JSON.stringify(doc.instances.map((x) => x.name))}`);
    return i;
  }

  /** Polls the status until the instance is in `state`; returns its status then. */
  waitForState(name: string, state: InstanceStatus['state'], timeoutMs = 15_000): Promise<InstanceStatus> {
    return this.waitFor(name, (i) => i.state === state, state, timeoutMs);
  }

  /**
   * Polls until the instance is BACKUP and has seen `address` as the master on the wire
   * (right after entering BACKUP it has not heard any advert yet).
   */
  waitForBackupOf(name: string, address: string, timeoutMs = 15_000): Promise<InstanceStatus> {
    return this.waitFor(name, (i) => i.state === 'BACKUP' && i.master?.address === address, `BACKUP of ${address}`, timeoutMs);
  }

  /** Polls the status until `pred` holds for the instance; returns its status then. */
  async waitFor(name: string, pred: (i: InstanceStatus) => boolean, what: string, timeoutMs = 15_000): Promise<InstanceStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const last = await this.instance(name);
      if (pred(last)) return last;
      if (Date.now() > deadline) {
        throw new Error(`${this.host}: ${name} is not ${what} after ${timeoutMs} ms: ${JSON.stringify(last)}\n${this.tail()}`);
      }
      await sleep(100);
    }
  }

  /** Sends a signal and waits for the exit (SIGKILL after graceMs). */
  kill(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<ExitStatus> {
    return this.#proc.kill(signal, graceMs);
  }

  /** Sends a signal without waiting (SIGHUP for a reload). */
  signal(signal: NodeJS.Signals): void {
    if (this.#proc.pid === undefined) throw new Error(`vipd on ${this.host} has no pid`);
    process.kill(this.#proc.pid, signal);
  }

  stop(): Promise<ExitStatus> {
    return this.kill('SIGTERM');
  }

  tail(n = 25): string {
    return `--- vipd on ${this.host}:\n${this.#proc.tail(n)}`;
  }
}

/** Which of `hosts` have `ip` on eth0 right now. */
export async function holders(lan: Lan, hosts: readonly string[], ip: string): Promise<string[]> {
  const has = await Promise.all(hosts.map((h) => lan.hasAddress(h, ip)));
  return hosts.filter((_, i) => has[i]);
}

/**
 * Polls for `durationMs` and fails if the VIP is ever on more than one host, or not
 * on `expected` (when given). Returns how many samples were taken.
 */
export async function assertSoleHolder(
  lan: Lan,
  hosts: readonly string[],
  ip: string,
  expected: string | undefined,
  durationMs: number,
): Promise<number> {
  const end = Date.now() + durationMs;
  let samples = 0;
  while (Date.now() < end) {
    const h = await holders(lan, hosts, ip);
    samples++;
    if (h.length > 1) throw new Error(`${ip} is on ${h.join(' and ')} at once`);
    if (expected !== undefined && (h.length !== 1 || h[0] !== expected)) {
      throw new Error(`${ip} is on ${h.join(', ') || 'no host'}, expected only ${expected}`);
    }
    await sleep(100);
  }
  return samples;
}

/**
 * Polls until `host` has `ip`; resolves with the ms elapsed since `since` (a
 * performance.now() value) at the first poll that saw it.
 */
export async function timeUntilAddress(lan: Lan, host: string, ip: string, since: number, timeoutMs: number): Promise<number> {
  const deadline = since + timeoutMs;
  for (;;) {
    if (await lan.hasAddress(host, ip)) return performance.now() - since;
    if (performance.now() > deadline) throw new Error(`${ip} not on ${host} within ${timeoutMs} ms`);
    await sleep(40);
  }
}

/** Polls until the host's neighbour entry for ip has `mac`. */
export async function waitForNeighbourMac(lan: Lan, host: string, ip: string, mac: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const e = await lan.neighbour(host, ip);
    if (e?.lladdr === mac) return;
    if (Date.now() > deadline) {
      throw new Error(`${host}: neighbour ${ip} is ${e?.lladdr ?? 'absent'} (${e?.state.join(',') ?? ''}), wanted ${mac}`);
    }
    await sleep(100);
  }
}

/** Polls `cond` every 100 ms until it holds; throws with `what` (and `detail()`) on timeout. */
export async function waitUntil(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
  detail: () => string = () => '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`not ${what} after ${timeoutMs} ms\n${detail()}`);
    await sleep(100);
  }
}

/**
 * Copies a script (a path, or a name in test/fixtures/track) into `dir` as root-owned
 * mode 0755, so enable_script_security accepts it when `dir` is a mkdtemp directory.
 */
export async function installScript(dir: string, source: string, name = basename(source)): Promise<string> {
  const from = source.includes('/') ? source : join(TRACK_FIXTURES, source);
  const to = join(dir, name);
  await copyFile(from, to);
  await chmod(to, 0o755);
  return to;
}

/** The lines of a text file so far ([] while it does not exist). */
export async function readLines(path: string): Promise<string[]> {
  try {
    return (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Polls a file until `pred` holds for its lines; returns them. */
export async function waitForFileLines(
  path: string,
  pred: (lines: string[]) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<string[]> {
  let lines: string[] = [];
  await waitUntil(async () => pred((lines = await readLines(path))), what, timeoutMs, () => `${path}:\n${lines.join('\n')}`);
  return lines;
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs bin/vipctl in the root namespace (control sockets are paths on the shared filesystem). */
export function vipctl(args: readonly string[], timeoutMs = 15_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [VIPCTL_BIN, ...args], { cwd: REPO_ROOT, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

export interface CapturedAdvert {
  /** Capture time, ms since the epoch (tcpdump -tt). */
  readonly at: number;
  readonly src: string;
  readonly dst: string;
  readonly version: number;
  readonly vrid: number;
  readonly priority: number;
}

/**
 * tcpdump in a host, printing epoch timestamps (-tt), parsed into the VRRP adverts it
 * saw. With -vv tcpdump prints the IP header on the first line (after the timestamp)
 * and the VRRP part on the next.
 */
export class AdvertCapture {
  readonly #proc: NsProcess;

  private constructor(proc: NsProcess) {
    this.#proc = proc;
  }

  static async start(lan: Lan, host: string, ifname = 'eth0'): Promise<AdvertCapture> {
    const p = lan.spawn(host, ['tcpdump', '-i', ifname, '-l', '-n', '-tt', '-U', '-vv', 'ip proto 112']);
    await p.waitForLine(/listening on/, { stream: 'stderr', timeoutMs: 10_000 });
    return new AdvertCapture(p);
  }

  adverts(): CapturedAdvert[] {
    const out: CapturedAdvert[] = [];
    let at: number | null = null;
    for (const line of this.#proc.stdout) {
      const ts = /^(\d+\.\d+)\s/.exec(line);
      if (ts) {
        at = Number(ts[1]) * 1000;
        continue;
      }
      const m = /^\s+(\S+) > (\S+): VRRPv(\d), Advertisement, vrid (\d+), prio (\d+)/.exec(line);
      if (m && at !== null) {
        out.push({ at, src: m[1] as string, dst: (m[2] as string).replace(/:$/, ''), version: Number(m[3]), vrid: Number(m[4]), priority: Number(m[5]) });
        at = null;
      }
    }
    return out;
  }

  /** The raw output so far (for failure messages). */
  tail(n = 20): string {
    return this.#proc.stdout.slice(-n).join('\n');
  }

  async stop(): Promise<void> {
    await this.#proc.kill('SIGINT');
  }
}
