/**
 * The interop suite's peers: keepalived 2.2.7 and vipd behind one interface, so a
 * scenario is written once and run with either implementation on either side.
 *
 *   const ka = await KeepalivedHost.start(lan, 'h2', dir, vrrpConf({ ... }));
 *   await ka.waitForState('VI_1', 'BACKUP');
 *   const p = await startPeer('vipd', lan, 'h1', dir, conf);   // or 'keepalived'
 *   await p.crash();                                           // SIGKILL: no priority 0
 *
 * keepalived's state is read from its log ("(VI_1) Entering MASTER STATE"); vipd's from
 * the control socket. keepalived always runs with -R (no respawn), so killing its VRRP
 * child is a crash, not a restart. Captures go to pcap files that both vipd's decoder
 * (readPcap + decodeFrame) and tshark (tsharkVrrp) read. `Pair` runs the usual two-host
 * scenario (elect, crash or stop the master, restart it) with its assertions.
 *
 * INTEROP_ECHO=1 echoes every daemon's log lines to stderr while a test runs.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bytesToIpv6, decode, type DecodeResult } from '../../src/protocol/index.js';
import type { ExitStatus, Lan, NsProcess, OutputMark } from './netns.js';
import { assertSoleHolder, sleep, timeUntilAddress, VipdHost, vrrpConf, waitForNeighbourMac, type InstanceSpec } from './vipd.js';

const run = promisify(execFile);

export type Impl = 'vipd' | 'keepalived';
export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT';

/** Both directions of a two-host scenario: [implementation on h1, implementation on h2]. */
export const PAIRS: ReadonlyArray<readonly [Impl, Impl]> = [
  ['vipd', 'keepalived'],
  ['keepalived', 'vipd'],
];

const STATE_LINE = /\((\S+)\) Entering (MASTER|BACKUP|FAULT) STATE/;

/** keepalived 2.2.7 in a LAN host, VRRP only (-P), no respawn (-R), logging to the console. */
export class KeepalivedHost {
  readonly lan: Lan;
  readonly host: string;
  readonly confPath: string;
  readonly pidFile: string;
  readonly vrrpPidFile: string;
  readonly #echo: boolean;
  #proc!: NsProcess;
  /** Every log line of every run, oldest first (restarts append). */
  readonly #history: string[] = [];

  private constructor(lan: Lan, host: string, dir: string, echo: boolean) {
    this.lan = lan;
    this.host = host;
    this.confPath = join(dir, `${host}-keepalived.conf`);
    this.pidFile = join(dir, `${host}-keepalived.pid`);
    this.vrrpPidFile = join(dir, `${host}-keepalived-vrrp.pid`);
    this.#echo = echo;
  }

  static async start(lan: Lan, host: string, dir: string, conf: string, opts: { echo?: boolean } = {}): Promise<KeepalivedHost> {
    const k = new KeepalivedHost(lan, host, dir, opts.echo ?? false);
    await k.writeConfig(conf);
    await k.restart();
    return k;
  }

  get proc(): NsProcess {
    return this.#proc;
  }

  get running(): boolean {
    return this.#proc.running;
  }

  async writeConfig(conf: string): Promise<void> {
    await writeFile(this.confPath, conf);
  }

  /** Starts keepalived (again) and waits until its VRRP child has read the config. */
  async restart(): Promise<void> {
    if (this.#proc?.running) throw new Error(`keepalived on ${this.host} is still running`);
    if (this.#proc) this.#history.push(...this.#lines(this.#proc));
    const dir = join(this.confPath, '..');
    this.#proc = this.lan.spawn(
      this.host,
      [
        'keepalived', '-n', '-l', '-D', '-P', '-R', '-f', this.confPath,
        '-p', this.pidFile, '-r', this.vrrpPidFile, '-c', join(dir, `${this.host}-keepalived-check.pid`),
      ],
      this.#echo ? { echo: true } : {},
    );
    await this.#proc.waitForLine(/Startup complete/, { timeoutMs: 20_000 });
  }

  #lines(p: NsProcess): string[] {
    return [...p.stderr, ...p.stdout];
  }

  /** The log lines of the current run. */
  get log(): string[] {
    return this.#lines(this.#proc);
  }

  /** The log lines of every run so far. */
  get allLog(): string[] {
    return [...this.#history, ...this.log];
  }

  mark(): OutputMark {
    return this.#proc.mark();
  }

  /** Lines of the current run printed after `m`. */
  linesSince(m: OutputMark): string[] {
    return [...this.#proc.stderr.slice(m.stderr), ...this.#proc.stdout.slice(m.stdout)];
  }

  /** The instance's state from the last "Entering ... STATE" line; INIT when not running or none yet. */
  state(instance: string): VrrpState {
    if (!this.#proc.running) return 'INIT';
    let state: VrrpState = 'INIT';
    // keepalived logs to stderr with -l; both streams are scanned in order of arrival per stream.
    for (const line of this.#proc.stderr.concat(this.#proc.stdout)) {
      const m = STATE_LINE.exec(line);
      if (m && m[1] === instance) state = m[2] as VrrpState;
    }
    return state;
  }

  /**
   * The instance's effective priority from the last "Changing effective priority from X to Y"
   * line of the current run (keepalived logs every change); `base` when there is none.
   */
  effectivePriority(instance: string, base: number): number {
    let prio = base;
    const re = /\((\S+)\) Changing effective priority from \d+ to (\d+)/;
    for (const line of this.#proc.stderr.concat(this.#proc.stdout)) {
      const m = re.exec(line);
      if (m && m[1] === instance) prio = Number(m[2]);
    }
    return prio;
  }

  /** How many times the current run entered `state` for the instance. */
  entered(instance: string, state: VrrpState, since?: OutputMark): number {
    const lines = since ? this.linesSince(since) : this.log;
    return lines.filter((l) => {
      const m = STATE_LINE.exec(l);
      return m !== null && m[1] === instance && m[2] === state;
    }).length;
  }

  async waitForState(instance: string, state: VrrpState, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.state(instance) !== state) {
      if (Date.now() > deadline) {
        throw new Error(`keepalived on ${this.host}: ${instance} is ${this.state(instance)}, not ${state}, after ${timeoutMs} ms\n${this.tail()}`);
      }
      if (!this.#proc.running && state !== 'INIT') {
        throw new Error(`keepalived on ${this.host} exited while waiting for ${instance} ${state}\n${this.tail()}`);
      }
      await sleep(50);
    }
  }

  /** SIGTERM: keepalived sends priority 0 as MASTER and removes its VIPs. */
  stop(): Promise<ExitStatus> {
    return this.#proc.kill('SIGTERM', 10_000);
  }

  /**
   * A crash: SIGKILL the VRRP child (no priority 0, the VIP stays behind), then make
   * sure the parent is gone too (with -R it does not respawn the child).
   */
  async crash(): Promise<void> {
    const pid = Number((await readFile(this.vrrpPidFile, 'utf8')).trim());
    if (!Number.isInteger(pid) || pid <= 1) throw new Error(`bad VRRP pid file ${this.vrrpPidFile}`);
    process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 5000;
    while (this.#proc.running && Date.now() < deadline) await sleep(50);
    if (this.#proc.running) await this.#proc.kill('SIGKILL');
  }

  tail(n = 30): string {
    return `--- keepalived on ${this.host}:\n${this.#proc.tail(n)}`;
  }
}

/** What a scenario needs from either implementation. */
export interface Peer {
  readonly impl: Impl;
  readonly host: string;
  readonly running: boolean;
  /** The instance's state now: INIT when not running. */
  state(instance: string): Promise<VrrpState>;
  waitForState(instance: string, state: VrrpState, timeoutMs?: number): Promise<void>;
  writeConfig(conf: string): Promise<void>;
  restart(): Promise<void>;
  /** SIGTERM and wait for the exit (a MASTER sends priority 0 and removes its VIPs). */
  stop(): Promise<void>;
  /** Dies without a word: no priority 0, the VIP stays on the interface. */
  crash(): Promise<void>;
  /** The last `n` log lines, for failure messages. */
  tail(n?: number): string;
}

export class VipdPeer implements Peer {
  readonly impl = 'vipd';
  readonly vipd: VipdHost;
  constructor(vipd: VipdHost) {
    this.vipd = vipd;
  }
  get host(): string {
    return this.vipd.host;
  }
  get running(): boolean {
    return this.vipd.running;
  }
  async state(instance: string): Promise<VrrpState> {
    if (!this.vipd.running) return 'INIT';
    return (await this.vipd.instance(instance)).state;
  }
  async waitForState(instance: string, state: VrrpState, timeoutMs = 15_000): Promise<void> {
    await this.vipd.waitForState(instance, state, timeoutMs);
  }
  writeConfig(conf: string): Promise<void> {
    return this.vipd.writeConfig(conf);
  }
  restart(): Promise<void> {
    return this.vipd.restart();
  }
  async stop(): Promise<void> {
    const e = await this.vipd.kill('SIGTERM', 10_000);
    if (e.code !== 0) throw new Error(`vipd on ${this.host} exited ${JSON.stringify(e)} on SIGTERM\n${this.tail()}`);
  }
  async crash(): Promise<void> {
    await this.vipd.kill('SIGKILL');
  }
  tail(n = 30): string {
    return this.vipd.tail(n);
  }
}

export class KeepalivedPeer implements Peer {
  readonly impl = 'keepalived';
  readonly ka: KeepalivedHost;
  constructor(ka: KeepalivedHost) {
    this.ka = ka;
  }
  get host(): string {
    return this.ka.host;
  }
  get running(): boolean {
    return this.ka.running;
  }
  state(instance: string): Promise<VrrpState> {
    return Promise.resolve(this.ka.state(instance));
  }
  waitForState(instance: string, state: VrrpState, timeoutMs = 15_000): Promise<void> {
    return this.ka.waitForState(instance, state, timeoutMs);
  }
  writeConfig(conf: string): Promise<void> {
    return this.ka.writeConfig(conf);
  }
  restart(): Promise<void> {
    return this.ka.restart();
  }
  async stop(): Promise<void> {
    await this.ka.stop();
  }
  crash(): Promise<void> {
    return this.ka.crash();
  }
  tail(n = 30): string {
    return this.ka.tail(n);
  }
}

/** Starts `impl` on `host` with `conf` (files in `dir`, named after the host and implementation). */
export async function startPeer(impl: Impl, lan: Lan, host: string, dir: string, conf: string): Promise<Peer> {
  const echo = process.env['INTEROP_ECHO'] === '1';
  if (impl === 'vipd') return new VipdPeer(await VipdHost.start(lan, host, dir, conf, echo ? { echo } : {}));
  return new KeepalivedPeer(await KeepalivedHost.start(lan, host, dir, conf, echo ? { echo } : {}));
}

/** Stops every running peer (SIGTERM; a peer that does not exit 0 is killed, not reported). */
export async function stopAll(peers: ReadonlyArray<Peer | undefined>): Promise<void> {
  await Promise.all(
    peers.map(async (p) => {
      if (p?.running) await p.stop().catch(() => undefined);
    }),
  );
}

// ---- captures --------------------------------------------------------------------

/** tcpdump writing a pcap file in a host; resolves once it listens. Stop it with stopCapture(). */
export async function startCapture(lan: Lan, host: string, file: string, filter: string): Promise<NsProcess> {
  // -Z root: the file is in a 0700 temp directory; -U flushes every packet.
  const p = lan.spawn(host, ['tcpdump', '-i', 'eth0', '-n', '-U', '-Z', 'root', '-s', '0', '-w', file, filter]);
  await p.waitForLine(/listening on/, { stream: 'stderr', timeoutMs: 10_000 });
  return p;
}

export async function stopCapture(p: NsProcess): Promise<void> {
  await p.kill('SIGINT', 5000);
}

export interface PcapRecord {
  /** Seconds since the epoch, with microseconds. */
  readonly time: number;
  readonly data: Buffer;
}

/** The records of a classic little-endian pcap file (tcpdump -w). */
export async function readPcap(file: string): Promise<{ linkType: number; records: PcapRecord[] }> {
  const b = await readFile(file);
  if (b.length < 24 || b.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error(`${file}: not a little-endian microsecond pcap file`);
  const linkType = b.readUInt32LE(20);
  const records: PcapRecord[] = [];
  let off = 24;
  while (off + 16 <= b.length) {
    const caplen = b.readUInt32LE(off + 8);
    if (off + 16 + caplen > b.length) break; // the last record may be cut by SIGINT
    records.push({ time: b.readUInt32LE(off) + b.readUInt32LE(off + 4) / 1e6, data: b.subarray(off + 16, off + 16 + caplen) });
    off += 16 + caplen;
  }
  return { linkType, records };
}

export interface CapturedAdvert {
  readonly family: 4 | 6;
  readonly src: string;
  readonly dst: string;
  /** What vipd's decoder makes of the packet, exactly as the daemon would call it. */
  readonly result: DecodeResult;
}

/**
 * Runs vipd's decoder on a captured Ethernet frame carrying VRRP (IPv4 protocol 112, or
 * IPv6 next header 112), the way the daemon's sockets present it: IPv4 with its header,
 * IPv6 as the message plus the addresses and hop limit. Undefined for other frames.
 */
export function decodeFrame(frame: Buffer): CapturedAdvert | undefined {
  if (frame.length < 14) return undefined;
  const type = frame.readUInt16BE(12);
  const ip = frame.subarray(14);
  if (type === 0x0800 && ip.length >= 20 && ip[9] === 112) {
    const total = ip.readUInt16BE(2);
    const pkt = ip.subarray(0, total); // Ethernet may pad short frames
    const src = [...pkt.subarray(12, 16)].join('.');
    const dst = [...pkt.subarray(16, 20)].join('.');
    return { family: 4, src, dst, result: decode(pkt, { family: 4 }) };
  }
  if (type === 0x86dd && ip.length >= 40 && ip[6] === 112) {
    const len = ip.readUInt16BE(4);
    const src = bytesToIpv6(ip.subarray(8, 24));
    const dst = bytesToIpv6(ip.subarray(24, 40));
    const message = ip.subarray(40, 40 + len);
    return { family: 6, src, dst, result: decode(message, { family: 6, src, dst, hopLimit: ip[7] ?? null }) };
  }
  return undefined;
}

/** What tshark's VRRP dissector says about one captured VRRP packet. */
export interface TsharkVrrp {
  readonly src: string;
  readonly dst: string;
  readonly ttl: string;
  /** IPv4 TOS / IPv6 traffic class, as tshark prints it (e.g. "0xc0"). */
  readonly tos: string;
  /** IPv4 flags (e.g. "0x00"); '' for IPv6. */
  readonly ipFlags: string;
  readonly version: string;
  readonly vrid: string;
  readonly prio: string;
  readonly count: string;
  /** v2: seconds; v3: centiseconds. */
  readonly interval: string;
  readonly addresses: string;
  readonly auth: string;
  /** 1 Good, 0 Bad, 2 Unverified. */
  readonly checksum: string;
  /** IPv4 header checksum status ('' for IPv6). */
  readonly ipChecksum: string;
  /** Non-empty when tshark marked the packet malformed. */
  readonly malformed: string;
  /** Expert-info severities tshark attached, if any (e.g. "8388608" for an error). */
  readonly expert: string;
}

/** Dissects the VRRP packets of a pcap file with tshark (which verifies checksums). */
export async function tsharkVrrp(file: string): Promise<TsharkVrrp[]> {
  const fields = [
    'ip.src', 'ipv6.src', 'ip.dst', 'ipv6.dst', 'ip.ttl', 'ipv6.hlim',
    'vrrp.version', 'vrrp.virt_rtr_id', 'vrrp.prio', 'vrrp.addr_count', 'vrrp.adver_int', 'vrrp.short_adver_int',
    'vrrp.ip_addr', 'vrrp.ipv6_addr', 'vrrp.auth_string', 'vrrp.checksum.status', 'ip.checksum.status',
    '_ws.malformed', '_ws.expert.severity', 'ip.dsfield', 'ipv6.tclass', 'ip.flags',
  ];
  const { stdout } = await run(
    'tshark',
    [
      '-r', file, '-Y', 'vrrp',
      '-o', 'vrrp.v3_checksum_as_in_v2:FALSE',
      '-o', 'ip.check_checksum:TRUE',
      '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=a', '-E', 'aggregator=,',
      ...fields.flatMap((f) => ['-e', f]),
    ],
    { timeout: 30_000, maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const c = line.split('|');
      const f = (i: number): string => c[i] ?? '';
      return {
        src: f(0) || f(1),
        dst: f(2) || f(3),
        ttl: f(4) || f(5),
        version: f(6),
        vrid: f(7),
        prio: f(8),
        count: f(9),
        interval: f(10) || f(11),
        addresses: f(12) || f(13),
        auth: f(14),
        checksum: f(15),
        ipChecksum: f(16),
        malformed: f(17),
        expert: f(18),
        tos: f(19) || f(20),
        ipFlags: f(21),
      };
    });
}

// ---- the VIP ------------------------------------------------------------------------

/** Which of `hosts` have `ip` on eth0 now. */
export async function vipHolders(lan: Lan, hosts: readonly string[], ip: string): Promise<string[]> {
  const has = await Promise.all(hosts.map((h) => lan.hasAddress(h, ip)));
  return hosts.filter((_, i) => has[i]);
}

/** Polls until exactly `expected` hold `ip` (in any order); rejects with what it saw last. */
export async function waitForHolders(lan: Lan, hosts: readonly string[], ip: string, expected: readonly string[], timeoutMs: number): Promise<void> {
  const want = [...expected].sort().join(',');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = (await vipHolders(lan, hosts, ip)).sort().join(',');
    if (now === want) return;
    if (Date.now() > deadline) throw new Error(`${ip} is on [${now}] after ${timeoutMs} ms, expected [${want}]`);
    await sleep(100);
  }
}

// ---- timing ----------------------------------------------------------------------------

/** RFC 3768 §6.1 (v2: whole seconds, skew from priority alone) / RFC 5798 §6.1 (v3: skew scales with the interval). */
export function skewTimeMs(version: 2 | 3, priority: number, advertIntSec: number): number {
  return version === 2 ? ((256 - priority) * 1000) / 256 : ((256 - priority) * advertIntSec * 1000) / 256;
}

export function masterDownIntervalMs(version: 2 | 3, priority: number, advertIntSec: number): number {
  return 3 * advertIntSec * 1000 + skewTimeMs(version, priority, advertIntSec);
}

/** What a loaded 2-core machine may add to a protocol deadline (process wake-up, polling). */
export const MARGIN_MS = 2000;

// ---- a two-host scenario -----------------------------------------------------------------

export interface PairOptions {
  readonly lan: Lan;
  readonly dir: string;
  /** Implementation on the master's host and on the backup's host. */
  readonly impls: readonly [Impl, Impl];
  readonly hosts?: readonly [string, string];
  readonly version: 2 | 3;
  readonly advertIntSec: number;
  readonly masterPrio: number;
  readonly backupPrio: number;
  /** The VIP's address (no prefix length). */
  readonly vip: string;
  /** The instance on one host (name VI_1); the pair fills in nothing else. */
  readonly spec: (role: 'master' | 'backup', host: string) => InstanceSpec;
  /** The address the backup sees adverts from (IPv4 address, link-local, unicast_src_ip). */
  readonly masterSource: string;
  readonly t?: { diagnostic(message: string): void };
  /**
   * A host that never talks to the VIP: its neighbour entry for it starts with a made-up
   * MAC and can only move by the gratuitous ARPs / unsolicited NAs of each new master.
   */
  readonly client?: string;
}

/** A locally administered MAC no host on the LAN has. */
export const BOGUS_MAC = '02:00:de:ad:be:ef';

/**
 * A master (higher priority) on hosts[0] and a backup on hosts[1], either implementation
 * on either side. Each step asserts the outcome: who is MASTER, who alone holds the VIP,
 * how long the takeover took, and what the backup saw on the wire.
 */
export class Pair {
  readonly o: PairOptions;
  readonly hosts: readonly [string, string];
  master: Peer | undefined;
  backup: Peer | undefined;

  constructor(o: PairOptions) {
    this.o = o;
    this.hosts = o.hosts ?? ['h1', 'h2'];
  }

  get label(): string {
    return `${this.o.impls[0]} MASTER / ${this.o.impls[1]} BACKUP`;
  }

  conf(role: 'master' | 'backup'): string {
    const host = this.hosts[role === 'master' ? 0 : 1];
    return vrrpConf({ routerId: `${this.o.lan.id}-${host}-${role}`, instances: [this.o.spec(role, host)] });
  }

  get backupDownMs(): number {
    return masterDownIntervalMs(this.o.version, this.o.backupPrio, this.o.advertIntSec);
  }

  get masterDownMs(): number {
    return masterDownIntervalMs(this.o.version, this.o.masterPrio, this.o.advertIntSec);
  }

  /** The client maps the VIP to the MAC of `host` (after that host's announcements). */
  async assertClientSees(host: string): Promise<void> {
    const { lan, vip, client } = this.o;
    if (client === undefined) return;
    await waitForNeighbourMac(lan, client, vip, lan.host(host).mac, 10_000);
  }

  /** Starts the master, then the backup; asserts the election and that the backup hears the master. */
  async elect(): Promise<void> {
    const { lan, dir, impls, vip, client } = this.o;
    if (client !== undefined) {
      await lan.exec(client, ['ip', 'neigh', 'replace', vip, 'lladdr', BOGUS_MAC, 'dev', 'eth0', 'nud', 'stale']);
    }
    this.master = await startPeer(impls[0], lan, this.hosts[0], dir, this.conf('master'));
    await this.master.waitForState('VI_1', 'MASTER', this.masterDownMs + MARGIN_MS + 10_000);
    this.backup = await startPeer(impls[1], lan, this.hosts[1], dir, this.conf('backup'));
    await this.backup.waitForState('VI_1', 'BACKUP', 15_000);
    await lan.waitForAddress(this.hosts[0], vip);
    // Longer than the backup's Master_Down_Interval: a deaf backup would have taken over.
    await assertSoleHolder(lan, this.hosts, vip, this.hosts[0], this.backupDownMs + 1000);
    assert.equal(await this.master.state('VI_1'), 'MASTER', this.master.tail());
    assert.equal(await this.backup.state('VI_1'), 'BACKUP', this.backup.tail());
    await this.assertBackupHearsMaster();
    await this.assertClientSees(this.hosts[0]);
  }

  /** The backup has seen the master on the wire and dropped nothing (vipd), complained of nothing (keepalived). */
  async assertBackupHearsMaster(): Promise<void> {
    const b = this.backup;
    if (b instanceof VipdPeer) {
      const st = await b.vipd.waitForBackupOf('VI_1', this.o.masterSource);
      assert.deepEqual(st.master, { address: this.o.masterSource, priority: this.o.masterPrio });
      assert.ok(st.stats.advertRx > 0, JSON.stringify(st.stats));
      const dropped = Object.entries(st.stats.dropped).filter(([, n]) => n !== 0);
      assert.deepEqual(dropped, [], `vipd dropped adverts from ${this.o.impls[0]}\n${b.tail()}`);
    }
    if (b instanceof KeepalivedPeer) assertKeepalivedContent(b.ka);
  }

  /** SIGKILL the master: the backup takes over within Master_Down_Interval, not sooner than it may. */
  async crashMaster(): Promise<number> {
    const { lan, vip, advertIntSec } = this.o;
    const master = this.master as Peer;
    const backup = this.backup as Peer;
    const down = this.backupDownMs;
    const t0 = performance.now();
    // Poll while the crash completes: keepalived's parent takes a moment to exit after its child.
    const crashed = master.crash();
    const took = await timeUntilAddress(lan, this.hosts[1], vip, t0, down + MARGIN_MS + 5000);
    await crashed;
    this.o.t?.diagnostic(`${backup.impl} held the VIP ${took.toFixed(0)} ms after ${master.impl} was killed (Master_Down_Interval ${down.toFixed(0)} ms)`);
    assert.ok(took <= down + MARGIN_MS, `${backup.impl} took ${took.toFixed(0)} ms; Master_Down_Interval is ${down.toFixed(0)} ms`);
    // The last advert came about one interval before the kill at most (polling adds, never
    // subtracts); 500 ms of slack for a master whose adverts run late on a loaded machine.
    const earliest = down - advertIntSec * 1000 - 500;
    assert.ok(took >= earliest, `${backup.impl} took over after only ${took.toFixed(0)} ms: it did not wait for the master to be down`);
    await backup.waitForState('VI_1', 'MASTER', 2000);
    if (backup instanceof VipdPeer) assert.equal((await backup.vipd.instance('VI_1')).stats.becameMaster, 1);
    if (backup instanceof KeepalivedPeer) assert.equal(backup.ka.entered('VI_1', 'MASTER'), 1, backup.tail());
    // A crash leaves the VIP behind (both implementations); a restart clears it.
    assert.ok(await lan.hasAddress(this.hosts[0], vip), `${master.impl} cannot have removed its VIP when SIGKILLed`);
    await this.assertClientSees(this.hosts[1]);
    return took;
  }

  /** SIGTERM the master: priority 0, the backup takes over within Skew_Time. */
  async stopMaster(): Promise<number> {
    const { lan, vip, version, backupPrio, advertIntSec } = this.o;
    const master = this.master as Peer;
    const backup = this.backup as Peer;
    await master.waitForState('VI_1', 'MASTER');
    await backup.waitForState('VI_1', 'BACKUP');
    const kaMark = backup instanceof KeepalivedPeer ? backup.ka.mark() : undefined;
    const rx0 = backup instanceof VipdPeer ? (await backup.vipd.instance('VI_1')).stats.priorityZeroRx : 0;
    const skew = skewTimeMs(version, backupPrio, advertIntSec);
    const t0 = performance.now();
    const stopped = master.stop();
    const took = await timeUntilAddress(lan, this.hosts[1], vip, t0, skew + MARGIN_MS + 5000);
    await stopped;
    this.o.t?.diagnostic(`${backup.impl} held the VIP ${took.toFixed(0)} ms after SIGTERM to ${master.impl} (Skew_Time ${skew.toFixed(0)} ms)`);
    assert.ok(took <= skew + MARGIN_MS, `${backup.impl} took ${took.toFixed(0)} ms; after priority 0 it must wait only Skew_Time (${skew.toFixed(0)} ms)`);
    assert.equal(await lan.hasAddress(this.hosts[0], vip), false, `a stopping ${master.impl} gives its VIP back`);
    await backup.waitForState('VI_1', 'MASTER', 2000);
    if (backup instanceof VipdPeer) {
      const st = await backup.vipd.instance('VI_1');
      assert.ok(st.stats.priorityZeroRx > rx0, `vipd counted no priority-0 advert: ${JSON.stringify(st.stats)}`);
    }
    if (kaMark && backup instanceof KeepalivedPeer) {
      assert.ok(
        backup.ka.linesSince(kaMark).some((x) => /\(VI_1\) Backup received priority 0 advertisement/.test(x)),
        `keepalived did not see the priority 0 advert\n${backup.tail()}`,
      );
    }
    await this.assertClientSees(this.hosts[1]);
    return took;
  }

  /** Restarts the master: it clears any VIP left behind, preempts, and alone holds the VIP. */
  async restartMaster(): Promise<void> {
    const { lan, vip } = this.o;
    const master = this.master as Peer;
    const backup = this.backup as Peer;
    await master.restart();
    await master.waitForState('VI_1', 'MASTER', this.masterDownMs + MARGIN_MS + 5000);
    await backup.waitForState('VI_1', 'BACKUP', 5000);
    await waitForHolders(lan, this.hosts, vip, [this.hosts[0]], 5000);
    await assertSoleHolder(lan, this.hosts, vip, this.hosts[0], 1500);
    await this.assertBackupHearsMaster();
    await this.assertClientSees(this.hosts[0]);
  }

  /** Stops both; neither may leave the VIP behind. */
  async close(): Promise<void> {
    await stopAll([this.master, this.backup]);
    assert.deepEqual(await vipHolders(this.o.lan, this.hosts, this.o.vip), [], 'a stopped peer leaves no VIP behind');
  }
}

/** keepalived logged nothing about a bad packet (password, auth type, TTL, checksum, interval, version...). */
export function assertKeepalivedContent(ka: KeepalivedHost): void {
  const bad = ka.log.filter((l) => /invalid|bogus|ignoring|bad |mismatch|wrong|expecting|malformed|checksum|not matching/i.test(l));
  assert.deepEqual(bad, [], `keepalived complained about a received packet\n${ka.tail()}`);
}
