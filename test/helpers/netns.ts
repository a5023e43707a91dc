/**
 * The test LAN every netns/interop test builds on: N host namespaces (h1, h2,
 * client, ...) each with one `eth0`, joined by veth pairs to a Linux bridge in a
 * switch namespace. Addresses are 10.x (IPv4) and fd00:: ULA (IPv6), inside the
 * namespaces only; nothing touches the root namespace.
 *
 *   const lan = await Lan.create();                 // h1, h2, client
 *   after(() => lan.destroy());                      // always, even on failure
 *   await lan.exec('h1', ['ip', 'addr']);           // stdout, throws with stderr
 *   const ka = lan.spawn('h1', ['keepalived', ...]); // lines, waitForLine, kill
 *   await lan.hasAddress('h1', lan.addr(100));
 *
 * Names carry a per-run id (`vt<pid36><rand>-h1`), so a crashed run's leftovers
 * cannot collide with a new run; Lan.create() also removes leftovers of runs whose
 * process is gone and that are older than an hour. A process-exit/signal safety net
 * kills spawned processes and deletes namespaces if a test dies before after().
 *
 * Node cannot enter a namespace, so code under test runs as a child process:
 * `lan.spawn(host, ['node', 'dist/test/netns/agents/x.js'])` (see ns-agent.ts).
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { bytesToIpv6 } from '../../src/protocol/ndisc.js';

export const DEFAULT_HOSTS = ['h1', 'h2', 'client'] as const;
const NETNS_DIR = '/run/netns';
const PREFIX = 'vt';
const STALE_AFTER_MS = 60 * 60 * 1000;

/** Why netns tests cannot run here, or undefined when they can (root). */
export function netnsUnavailableReason(): string | undefined {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return `network namespace tests need root (running as uid ${process.getuid()})`;
  }
  return undefined;
}

/**
 * For `describe(name, { skip: netnsSkip() }, ...)`: a skip reason when not root,
 * but never in CI (CI=true), where the tests must run and fail loudly instead.
 */
export function netnsSkip(): string | false {
  if (process.env['CI'] === 'true') return false;
  return netnsUnavailableReason() ?? false;
}

/**
 * In a test: `if (!requireRoot(t)) return;`. Skips with the reason when not root;
 * with CI=true it throws instead, so CI can never pass by skipping.
 */
export function requireRoot(t: { skip(message?: string): void }): boolean {
  const reason = netnsUnavailableReason();
  if (!reason) return true;
  if (process.env['CI'] === 'true') throw new Error(`${reason}; CI=true, so this test must run, not skip`);
  t.skip(reason);
  return false;
}

export interface LanOptions {
  /** Logical host names, 1-10 lower-case letters/digits each. Default h1, h2, client. */
  readonly hosts?: readonly string[];
  /** The IPv4 /24 as its first three octets; default "10.10.1". */
  readonly subnet?: string;
  /** The IPv6 /64 prefix; default "fd00:10:10:1". DAD is off in every namespace. */
  readonly subnet6?: string;
}

export interface LanHost {
  /** Logical name ("h1"). */
  readonly name: string;
  /** Namespace name, for `ip netns exec` and `ip -n`. */
  readonly ns: string;
  /** The host's LAN interface: always eth0. */
  readonly ifname: string;
  readonly ipv4: string;
  readonly ipv6: string;
  /** EUI-64 link-local address (from the fixed MAC). */
  readonly linkLocal: string;
  /** Locally administered and fixed: 02:00:<the IPv4 address>. */
  readonly mac: string;
}

export interface IpAddr {
  readonly ifname: string;
  readonly family: 'inet' | 'inet6';
  readonly local: string;
  readonly prefixlen: number;
  readonly label?: string;
  readonly scope?: string;
  readonly broadcast?: string;
  readonly flags: readonly string[];
}

export interface NeighbourEntry {
  readonly dst: string;
  readonly lladdr?: string;
  readonly state: readonly string[];
}

export interface ExecOptions {
  readonly timeoutMs?: number;
  readonly input?: string;
}

export interface SpawnOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Echo every output line to stderr prefixed with the host name (debugging). */
  readonly echo?: boolean;
}

export interface OutputMark {
  readonly stdout: number;
  readonly stderr: number;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A process running in a namespace: collects its output lines, can wait for one. */
export class NsProcess {
  readonly host: string;
  readonly argv: readonly string[];
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<ExitStatus>;
  #child: ChildProcess;
  #exit: ExitStatus | undefined;
  #waiters = new Set<() => void>();

  constructor(host: string, ns: string, argv: readonly string[], opts: SpawnOptions = {}) {
    this.host = host;
    this.argv = argv;
    this.#child = spawn('ip', ['netns', 'exec', ns, ...argv], {
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
      ...(opts.env !== undefined ? { env: opts.env } : {}),
    });
    const collect = (stream: NodeJS.ReadableStream | null, into: string[], tag: string): void => {
      if (!stream) return;
      createInterface({ input: stream }).on('line', (line) => {
        into.push(line);
        if (opts.echo) process.stderr.write(`[${host}${tag}] ${line}\n`);
        for (const w of [...this.#waiters]) w();
      });
    };
    collect(this.#child.stdout, this.stdout, '');
    collect(this.#child.stderr, this.stderr, '!');
    this.#child.stdin?.on('error', () => {
      // The process may exit before reading its stdin.
    });
    this.exited = new Promise<ExitStatus>((resolve) => {
      this.#child.on('error', (err) => {
        this.stderr.push(`spawn failed: ${err.message}`);
        this.#exit = { code: null, signal: null };
        resolve(this.#exit);
      });
      const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (this.#exit) return;
        this.#exit = { code, signal };
        for (const w of [...this.#waiters]) w();
        resolve(this.#exit);
      };
      // 'close' comes after the last output line; but an orphaned grandchild can hold the
      // pipes open forever, so 'exit' plus a short grace period settles it too.
      this.#child.on('close', finish);
      this.#child.on('exit', (code, signal) => setTimeout(() => finish(code, signal), 200).unref());
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  /** One line to the process's stdin. */
  write(line: string): void {
    this.#child.stdin?.write(line.endsWith('\n') ? line : `${line}\n`);
  }

  /** Where the output is now: pass it as `after` to wait only for lines printed later. */
  mark(): OutputMark {
    return { stdout: this.stdout.length, stderr: this.stderr.length };
  }

  /**
   * Resolves with the first line matching `re` (all lines so far count, or only those after `after`).
   * Rejects on timeout, or when the process exits without printing one.
   */
  waitForLine(
    re: RegExp,
    opts: { timeoutMs?: number; stream?: 'stdout' | 'stderr' | 'both'; after?: OutputMark } = {},
  ): Promise<RegExpMatchArray> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const stream = opts.stream ?? 'both';
    const after = opts.after ?? { stdout: 0, stderr: 0 };
    const find = (): RegExpMatchArray | null => {
      const pools: Array<[string[], number]> = [];
      if (stream !== 'stderr') pools.push([this.stdout, after.stdout]);
      if (stream !== 'stdout') pools.push([this.stderr, after.stderr]);
      for (const [pool, from] of pools) {
        for (let i = from; i < pool.length; i++) {
          const m = (pool[i] as string).match(re);
          if (m) return m;
        }
      }
      return null;
    };
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const m = find();
        if (m) {
          done();
          resolve(m);
        } else if (this.#exit) {
          done();
          reject(new Error(`${this.describe()} exited (${JSON.stringify(this.#exit)}) before printing ${re}\n${this.tail()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.describe()}: no line matching ${re} within ${timeoutMs} ms\n${this.tail()}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Sends `signal` and waits for the exit; SIGKILL after `graceMs`. Safe on an exited process. */
  async kill(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<ExitStatus> {
    if (this.#exit) return this.#exit;
    this.#child.kill(signal);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Synchronous SIGKILL for the exit safety net. */
  killNow(): void {
    if (this.#exit === undefined) {
      try {
        this.#child.kill('SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }

  describe(): string {
    return `[${this.host}] ${this.argv.join(' ')}`;
  }

  /** The last lines of output, for error messages. */
  tail(n = 15): string {
    const out = this.stdout.slice(-n).map((l) => `  out: ${l}`);
    const err = this.stderr.slice(-n).map((l) => `  err: ${l}`);
    return [...out, ...err].join('\n');
  }
}

function run(file: string, args: readonly string[], opts: ExecOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      [...args],
      { timeout: opts.timeoutMs ?? 15_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          const why = err.killed ? `killed after ${opts.timeoutMs ?? 15_000} ms` : `exit ${String(err.code)}`;
          reject(new Error(`${file} ${args.join(' ')}: ${why}\n${String(stderr).trim()}`));
        } else {
          resolve(String(stdout));
        }
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

// ---- the safety net: one set of live LANs per process -----------------------

const live = new Set<Lan>();
let netInstalled = false;

function installSafetyNet(): void {
  if (netInstalled) return;
  netInstalled = true;
  process.on('exit', () => {
    for (const lan of [...live]) lan.destroySync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const lan of [...live]) lan.destroySync();
      process.kill(process.pid, sig); // default action now that our listener is gone
    });
  }
}

function parseRunPid(ns: string): number | undefined {
  const m = /^vt([0-9a-z]+)x[0-9a-f]{4}-/.exec(ns);
  return m ? parseInt(m[1] as string, 36) : undefined;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes namespaces of earlier runs whose process is gone and that are over an hour old. */
export async function pruneStaleNamespaces(): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(NETNS_DIR);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const ns of names) {
    const pid = parseRunPid(ns);
    if (pid === undefined || pid === process.pid || pidAlive(pid)) continue;
    try {
      const st = await stat(`${NETNS_DIR}/${ns}`);
      if (Date.now() - st.mtimeMs < STALE_AFTER_MS) continue;
      await killNamespacePids(ns);
      await run('ip', ['netns', 'del', ns]);
      removed.push(ns);
    } catch {
      // Someone else removed it first, or it is busy: leave it.
    }
  }
  return removed;
}

async function killNamespacePids(ns: string): Promise<void> {
  let out = '';
  try {
    out = await run('ip', ['netns', 'pids', ns]);
  } catch {
    return;
  }
  for (const pid of out.split(/\s+/).filter(Boolean).map(Number)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** RFC 4291 appendix A: the modified EUI-64 link-local address of a MAC. */
function eui64LinkLocal(mac: string): string {
  const b = mac.split(':').map((x) => parseInt(x, 16));
  const bytes = new Uint8Array(16);
  bytes.set([0xfe, 0x80], 0);
  bytes.set([(b[0] as number) ^ 0x02, b[1] as number, b[2] as number, 0xff, 0xfe, b[3] as number, b[4] as number, b[5] as number], 8);
  return bytesToIpv6(bytes);
}

export class Lan {
  /** Per-run id in every name: `vt<pid base 36>x<4 hex>`. */
  readonly id: string;
  readonly switchNs: string;
  readonly subnet: string;
  readonly subnet6: string;
  readonly prefixLength = 24;
  readonly prefixLength6 = 64;
  #hosts = new Map<string, LanHost>();
  #procs = new Set<NsProcess>();
  #namespaces: string[] = [];
  #destroyed = false;

  private constructor(opts: LanOptions) {
    this.id = `${PREFIX}${process.pid.toString(36)}x${randomBytes(2).toString('hex')}`;
    this.switchNs = `${this.id}-sw`;
    this.subnet = opts.subnet ?? '10.10.1';
    this.subnet6 = opts.subnet6 ?? 'fd00:10:10:1';
  }

  /** Builds the LAN. On failure everything created so far is removed again. */
  static async create(opts: LanOptions = {}): Promise<Lan> {
    const names = opts.hosts ?? DEFAULT_HOSTS;
    for (const n of names) {
      if (!/^[a-z][a-z0-9]{0,9}$/.test(n)) throw new Error(`host name must be 1-10 of [a-z0-9], got "${n}"`);
    }
    if (new Set(names).size !== names.length) throw new Error(`duplicate host names: ${names.join(', ')}`);
    if (names.length > 200) throw new Error('at most 200 hosts');
    await pruneStaleNamespaces();
    const lan = new Lan(opts);
    installSafetyNet();
    live.add(lan);
    try {
      await lan.#build(names);
    } catch (err) {
      await lan.destroy();
      throw err;
    }
    return lan;
  }

  async #build(names: readonly string[]): Promise<void> {
    const sw = this.switchNs;
    await run('ip', ['netns', 'add', sw]);
    this.#namespaces.push(sw);
    await run('ip', ['-n', sw, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0']);
    await run('ip', ['-n', sw, 'link', 'set', 'br0', 'up']);

    await Promise.all(
      names.map(async (name, i) => {
        const n = i + 1;
        const ns = `${this.id}-${name}`;
        const ipv4 = `${this.subnet}.${n}`;
        const mac = `02:00:${ipv4
          .split('.')
          .map((o) => Number(o).toString(16).padStart(2, '0'))
          .join(':')}`;
        const host: LanHost = {
          name,
          ns,
          ifname: 'eth0',
          ipv4,
          ipv6: `${this.subnet6}::${n}`,
          linkLocal: eui64LinkLocal(mac),
          mac,
        };
        await run('ip', ['netns', 'add', ns]);
        this.#namespaces.push(ns);
        this.#hosts.set(name, host);
        // Before eth0 exists, so it inherits "no DAD": addresses are usable at once.
        await run('ip', [
          'netns', 'exec', ns, 'sysctl', '-qw',
          'net.ipv6.conf.all.accept_dad=0',
          'net.ipv6.conf.default.accept_dad=0',
          'net.ipv6.conf.default.dad_transmits=0',
          'net.ipv6.conf.default.router_solicitations=0',
        ]);
        const port = `p-${name}`;
        await run('ip', ['-n', sw, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
        await run('ip', ['-n', sw, 'link', 'set', port, 'master', 'br0', 'up']);
        await run('ip', ['-n', ns, '-batch', '-'], {
          input: [
            'link set lo up',
            `link set eth0 address ${mac}`,
            `addr add ${ipv4}/${this.prefixLength} dev eth0`,
            `addr add ${host.ipv6}/${this.prefixLength6} dev eth0 nodad`,
            'link set eth0 up',
          ].join('\n'),
        });
      }),
    );
  }

  host(name: string): LanHost {
    const h = this.#hosts.get(name);
    if (!h) throw new Error(`no host "${name}" on this LAN (have ${[...this.#hosts.keys()].join(', ')})`);
    return h;
  }

  get hosts(): readonly LanHost[] {
    return [...this.#hosts.values()];
  }

  /** An IPv4 address on the LAN's subnet, e.g. addr(100) for a VIP. Hosts use 1..N. */
  addr(n: number): string {
    return `${this.subnet}.${n}`;
  }

  /**
   * An IPv6 address on the LAN's /64 whose last group reads like addr(n): addr6(100) is
   * "fd00:10:10:1::100" (the digits of n, taken as hex). n must be 0..9999.
   */
  addr6(n: number): string {
    if (!Number.isInteger(n) || n < 0 || n > 9999) throw new RangeError(`addr6(n) needs 0..9999, got ${n}`);
    return `${this.subnet6}::${n}`;
  }

  /** Runs argv in the host's namespace; resolves with stdout, rejects with stderr. */
  exec(host: string, argv: readonly string[], opts: ExecOptions = {}): Promise<string> {
    return run('ip', ['netns', 'exec', this.host(host).ns, ...argv], opts);
  }

  /** Starts argv in the host's namespace; destroy() kills it if the test did not. */
  spawn(host: string, argv: readonly string[], opts: SpawnOptions = {}): NsProcess {
    if (this.#destroyed) throw new Error('this LAN was destroyed');
    const p = new NsProcess(host, this.host(host).ns, argv, opts);
    this.#procs.add(p);
    void p.exited.then(() => this.#procs.delete(p));
    return p;
  }

  /** `ip -j addr show dev <ifname>` in the host, flattened. */
  async addrs(host: string, ifname = 'eth0'): Promise<IpAddr[]> {
    const out = await this.exec(host, ['ip', '-j', 'addr', 'show', 'dev', ifname]);
    const links = JSON.parse(out) as Array<{ ifname: string; addr_info?: Array<Record<string, unknown>> }>;
    const list: IpAddr[] = [];
    for (const l of links) {
      for (const a of l.addr_info ?? []) {
        const flags = Object.entries(a)
          .filter(([, v]) => v === true)
          .map(([k]) => k);
        list.push({
          ifname: l.ifname,
          family: a['family'] as 'inet' | 'inet6',
          local: a['local'] as string,
          prefixlen: a['prefixlen'] as number,
          ...(typeof a['label'] === 'string' ? { label: a['label'] } : {}),
          ...(typeof a['scope'] === 'string' ? { scope: a['scope'] } : {}),
          ...(typeof a['broadcast'] === 'string' ? { broadcast: a['broadcast'] } : {}),
          flags,
        });
      }
    }
    return list;
  }

  async hasAddress(host: string, ip: string, ifname = 'eth0'): Promise<boolean> {
    return (await this.addrs(host, ifname)).some((a) => a.local === ip);
  }

  /** Polls until the address is there (or gone, with present=false). */
  async waitForAddress(host: string, ip: string, opts: { present?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const present = opts.present ?? true;
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    for (;;) {
      if ((await this.hasAddress(host, ip)) === present) return;
      if (Date.now() > deadline) {
        throw new Error(`${ip} still ${present ? 'absent from' : 'present on'} ${host} after ${opts.timeoutMs ?? 10_000} ms`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  linkDown(host: string, ifname = 'eth0'): Promise<string> {
    return this.exec(host, ['ip', 'link', 'set', ifname, 'down']);
  }

  linkUp(host: string, ifname = 'eth0'): Promise<string> {
    return this.exec(host, ['ip', 'link', 'set', ifname, 'up']);
  }

  /**
   * Pulls the host's cable: its switch port goes down, so eth0 stays administratively
   * UP but loses carrier (not RUNNING, operstate LOWERLAYERDOWN) — a real link failure.
   */
  unplug(host: string): Promise<string> {
    return this.execSwitch(['ip', 'link', 'set', `p-${this.host(host).name}`, 'down']);
  }

  plug(host: string): Promise<string> {
    return this.execSwitch(['ip', 'link', 'set', `p-${this.host(host).name}`, 'up']);
  }

  /** Runs argv in the switch namespace (bridge br0, ports p-<host>). */
  execSwitch(argv: readonly string[], opts: ExecOptions = {}): Promise<string> {
    return run('ip', ['netns', 'exec', this.switchNs, ...argv], opts);
  }

  /**
   * Makes the host send one UDP datagram (port 9, discard) to ip, so that it resolves
   * ip's MAC address; resolves once the host has a neighbour entry with a MAC.
   * (ping is not among the CI packages; node always is.)
   */
  async touch(host: string, ip: string, timeoutMs = 5000): Promise<NeighbourEntry> {
    const family = ip.includes(':') ? 'udp6' : 'udp4';
    const js = `const s=require('dgram').createSocket('${family}');s.send('x',9,process.argv[1],()=>s.close())`;
    await this.exec(host, [process.execPath, '-e', js, ip]);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const e = await this.neighbour(host, ip);
      if (e?.lladdr) return e;
      if (Date.now() > deadline) throw new Error(`${host} did not resolve ${ip} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The host's neighbour entry for ip (ARP or NDP), if any. */
  async neighbour(host: string, ip: string, ifname = 'eth0'): Promise<NeighbourEntry | undefined> {
    const out = await this.exec(host, ['ip', '-j', 'neigh', 'show', 'to', ip, 'dev', ifname]);
    const list = JSON.parse(out || '[]') as Array<{ dst: string; lladdr?: string; state?: string[] }>;
    const e = list.find((x) => x.dst === ip);
    return e ? { dst: e.dst, ...(e.lladdr ? { lladdr: e.lladdr } : {}), state: e.state ?? [] } : undefined;
  }

  /** Kills every spawned process and deletes every namespace. Safe to call twice. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    await Promise.all([...this.#procs].map((p) => p.kill('SIGTERM', 2000)));
    for (const ns of [...this.#namespaces].reverse()) {
      await killNamespacePids(ns);
      try {
        await run('ip', ['netns', 'del', ns]);
      } catch {
        // Already gone.
      }
    }
    this.#namespaces = [];
    live.delete(this);
  }

  /** The exit-time variant of destroy(): synchronous, best effort. */
  destroySync(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const p of this.#procs) p.killNow();
    for (const ns of [...this.#namespaces].reverse()) {
      const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '';
      for (const pid of pids.split(/\s+/).filter(Boolean).map(Number)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      spawnSync('ip', ['netns', 'del', ns]);
    }
    this.#namespaces = [];
    live.delete(this);
  }
}
