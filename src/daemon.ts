/**
 * The daemon: the only module that knows every other one. It loads the config, opens
 * the kernel interfaces (rtnetlink, raw VRRP sockets, AF_PACKET), builds one VRRP
 * instance per vrrp_instance, and turns what happens into events for the engine
 * (packets, link news, trackers, signals) and the engine's actions into syscalls.
 *
 * Data flows one way: config → instances → actions → kernel. Protocol time comes from
 * the engine's monotonic clock; wall-clock time is only used for what humans read.
 */
import { writeFile, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { DaemonOptions } from './cli/vipd.js';
import { hostChecksAsync, loadConfigAsync, formatDiagnostic, type Config, type Diagnostic, type UnicastPeer, type VrrpInstance } from './config/index.js';
import { startControlServer, type ControlServer } from './control/server.js';
import type { InstanceStats, InstanceStatus, StatusDocument, TrackerStatus } from './control/status.js';
import { VipdError } from './errors.js';
import { loadScriptUsers, type ScriptUsers } from './exec/users.js';
import { createLogger, type Logger } from './log.js';
import { openGarpSender, type GarpSender } from './net/garp.js';
import {
  openNetlink,
  openNetMonitor,
  pickIpv6LinkLocal,
  pickPrimaryIpv4,
  type AddressInfo,
  type LinkInfo,
  type NetEvent,
  type NetlinkClient,
  type NetMonitor,
} from './net/netlink.js';
import { openTransport, type PacketMeta, type Transport } from './net/transport.js';
import { NotifyFifos } from './notify/fifo.js';
import { Notifier } from './notify/notifier.js';
import {
  AUTH_PASS,
  AUTH_NONE,
  authDataFromPassword,
  canonicalAddress,
  decode,
  emptyDropCounters,
  encode,
  validate,
  IPV4_HEADER_LENGTH,
  type Advert,
  type DropReason,
  type ValidateExpect,
} from './protocol/index.js';
import { Engine, realScheduler, type ExecutedAction, type Scheduler } from './runtime/engine.js';
import { instanceParams, vipText } from './runtime/params.js';
import { TrackerBoard, type PriorityChange, type TrackerRef } from './runtime/trackers.js';
import { Tracking } from './runtime/tracking.js';
import { SplitBrainWatch, type SplitBrainChange } from './runtime/split-brain.js';
import { VipManager, type OwnedVips } from './runtime/vips.js';
import { RefusalRetry } from './runtime/vip-refusal.js';
import { watchReloadRefusal, WATCH_TRIGGER } from './runtime/reload-guard.js';
import { masterDownIntervalMs, syncGroupInitialStates, type InstanceState, type PriorityResult } from './vrrp/index.js';

/** Per-instance runtime facts the pure core does not keep. */
interface Runtime {
  cfg: VrrpInstance;
  unit: string;
  /** The advert source in use (mcast_src_ip / unicast_src_ip / interface address), null when none. */
  source: string | null;
  stats: InstanceStats;
  lastTransition: { from: string; to: string; at: string; reason: string } | null;
  /** Resolves when the last hold of the VIPs reached the kernel (GARP waits for it). */
  vipsReady: Promise<void>;
  garpAbort: AbortController | null;
  /** What a received advert must match (RFC 3768 §7.1 / RFC 5798 §7.1 and keepalived's checks). */
  expect: ValidateExpect;
  /** The same without the VIP-list check: skip_check_adv_addr, for the master we already follow. */
  expectSkipAddrs: ValidateExpect;
  advertTemplate: Omit<Advert, 'priority'>;
  /** unicast_peer entries by canonical address: the only sources a unicast instance hears. */
  peers: ReadonlyMap<string, UnicastPeer>;
  /** Faults the daemon itself sees (interface missing, no source address), on top of trackers. */
  ownFaults: string[];
  /** What the engine was last told, to send only changes. */
  fed: { priority: number; fault: boolean; reasons: string } | null;
  /** Rate limit for repeated warnings, by key. */
  lastWarned: Map<string, number>;
  /** Another MASTER for our VRID while we are MASTER. */
  readonly splitBrain: SplitBrainWatch;
  /**
   * The kernel refused our VIPs: we must not claim MASTER for addresses we cannot hold.
   * FAULT until it says to try again (runtime/vip-refusal.ts).
   */
  readonly vipRefusal: RefusalRetry;
  /** A split-brain start heard in the advert being processed, logged once its outcome is known. */
  splitBrainUnsaid: boolean;
  splitBrainStart: SplitBrainChange | null;
  /** The second gratuitous ARP burst after a lower-priority master was heard. */
  lowerPrioGarpTimer: NodeJS.Timeout | undefined;
  /**
   * Start-up waits while a weight-0 vrrp_script has no result yet: keepalived keeps such an
   * instance in INIT rather than showing a FAULT nobody has seen.
   */
  startupPending: boolean;
  /** The trackers it was subscribed with (what a reload compares). */
  refs: readonly TrackerRef[];
  /** Adverts handed to the socket and not yet sent: closing the socket would drop them. */
  readonly sending: Set<Promise<void>>;
}

interface TransportEntry {
  readonly key: string;
  transport: Transport | null;
  readonly byVrid: Map<number, string>;
  /** Whether the open transport joined its multicast group. */
  joined: boolean;
}

export interface DaemonHandle {
  /** Resolves with the exit status once the daemon has stopped. */
  readonly done: Promise<number>;
  stop(reason: string): Promise<void>;
  reload(trigger: string): Promise<ReloadResult>;
  status(): StatusDocument;
}

export interface ReloadResult {
  readonly ok: boolean;
  readonly diagnostics: readonly string[];
  readonly kept: readonly string[];
  readonly rebuilt: readonly string[];
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

const SHUTDOWN_BUDGET_MS = 800;
const WARN_EVERY_MS = 60_000;
/** At most this many "advert dropped" warnings a minute per instance (distinct senders/reasons). */
const MAX_WARNED_KEYS = 100;
/** Drop reasons that mean a peer is configured differently from us. */
const MISCONFIGURATION: ReadonlySet<DropReason> = new Set(['auth', 'interval', 'addressList', 'version', 'peer']);

function emptyStats(): InstanceStats {
  return {
    advertRx: 0,
    advertTx: 0,
    becameMaster: 0,
    releasedMaster: 0,
    priorityZeroRx: 0,
    priorityZeroTx: 0,
    dropped: emptyDropCounters(),
  };
}

/** The config of an instance without source locations: what decides "unchanged" on reload. */
function withoutLocations(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutLocations);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (k !== 'loc' && k !== 'keywordLocs') out[k] = withoutLocations(v);
    return out;
  }
  return value;
}

function transportKey(ifname: string, family: 4 | 6): string {
  return `${ifname}/IPv${family}`;
}

export class Daemon implements DaemonHandle {
  readonly #opts: DaemonOptions;
  readonly #log: Logger;
  readonly #sched: Scheduler;
  readonly #started = Date.now();
  #config!: Config;
  #netlink!: NetlinkClient;
  #monitor: NetMonitor | null = null;
  #garp: GarpSender | null = null;
  #vips!: VipManager;
  #notifier!: Notifier;
  #users!: ScriptUsers;
  #fifos: NotifyFifos | null = null;
  #tracking: Tracking | null = null;
  #engine: Engine;
  readonly #board = new TrackerBoard();
  readonly #runtimes = new Map<string, Runtime>();
  readonly #transports = new Map<string, TransportEntry>();
  /** Every address on this host (for "is this advert our own?"). */
  readonly #ownAddresses = new Set<string>();
  readonly #unattributed: Record<DropReason, number> = emptyDropCounters();
  #control: ControlServer | null = null;
  #watcher: { close(): Promise<void> } | null = null;
  #watchTimer: NodeJS.Timeout | undefined;
  #reloading: Promise<ReloadResult> | null = null;
  #stopping: Promise<void> | null = null;
  /** start() has finished: reloads are accepted from now on. */
  #ready = false;
  #resolveDone!: (code: number) => void;
  readonly done: Promise<number>;

  constructor(opts: DaemonOptions, log: Logger, sched: Scheduler = realScheduler) {
    this.#opts = opts;
    this.#log = log;
    this.#sched = sched;
    this.#engine = new Engine(sched, { execute: (name, action, state) => this.#execute(name, action, state) });
    this.done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
  }

  // ---- start-up ------------------------------------------------------------------

  async start(): Promise<void> {
    const res = await loadConfigAsync(this.#opts.configFile, { configId: this.#opts.configId });
    this.#logDiagnostics(res.diagnostics);
    if (res.config === null) {
      throw new VipdError('ECONFIG', `${this.#opts.configFile}: configuration has errors, not starting`);
    }
    this.#config = res.config;
    this.#logDiagnostics(await hostChecksAsync(res.config));
    if (this.#config.ignoredBlocks.length > 0) {
      this.#log.info(
        { blocks: this.#config.ignoredBlocks.map((b) => b.keyword) },
        'LVS/BFD/static blocks are left to keepalived and not run by vipd',
      );
    }

    // First, so that a second vipd on this host stops here, before touching any VIP.
    this.#control = await startControlServer({
      path: this.#opts.controlSocket,
      handler: async (cmd) => {
        switch (cmd) {
          case 'status':
          case 'stats':
            return this.status();
          case 'reload':
            if (!this.#ready) throw new VipdError('ECONTROL', 'vipd is still starting; try again in a moment');
            return this.reload('vipctl reload');
        }
      },
    });
    this.#netlink = openNetlink();
    this.#monitor = await openNetMonitor({
      onEvent: (ev) => this.#onNetEvent(ev),
      onError: (err) => this.#log.warn({ err: err.message }, 'netlink monitor: ' + err.message),
    });
    for (const a of await this.#netlink.listAddresses()) this.#ownAddresses.add(canonicalAddress(a.address) ?? a.address);
    this.#garp = openGarpSender();
    this.#vips = new VipManager({
      netlink: this.#netlink,
      log: this.#log,
      ifindex: (n) => this.#ifindex(n),
      onRefused: (owner, problems) => this.#vipsRefused(owner, problems),
    });
    this.#users = await loadScriptUsers(this.#config.global.scriptUser);
    this.#fifos = new NotifyFifos({ users: this.#users, log: this.#log });
    await this.#fifos.configure(this.#config.global);
    this.#notifier = new Notifier({
      log: this.#log,
      users: this.#users,
      fifos: [this.#fifos],
      scriptSecurity: this.#config.global.enableScriptSecurity,
    });
    this.#tracking = new Tracking({ board: this.#board, log: this.#log, onChanges: (ch) => this.#onTrackerChanges(ch) });
    await this.#tracking.apply(this.#config, this.#users, false);

    if (this.#opts.pidFile !== null) await writeFile(this.#opts.pidFile, `${process.pid}\n`);

    await this.#addInstances(this.#config, this.#config.instances.map((i) => i.name), true);

    if (this.#opts.watch) await this.#watch();
    this.#ready = true;
    this.#log.info(
      { config: this.#opts.configFile, instances: this.#runtimes.size, routerId: this.#config.global.routerId },
      `vipd started: ${this.#runtimes.size} VRRP instance(s) from ${this.#opts.configFile}`,
    );
  }

  #logDiagnostics(diags: readonly Diagnostic[]): void {
    for (const d of diags) {
      const text = formatDiagnostic(d);
      if (d.severity === 'error') this.#log.error({ diagnostic: text }, text);
      else this.#log.warn({ diagnostic: text }, text);
    }
  }

  #ifindex(ifname: string): number | undefined {
    for (const l of this.#monitor?.links().values() ?? []) if (l.name === ifname) return l.index;
    return undefined;
  }

  #link(ifname: string): LinkInfo | undefined {
    for (const l of this.#monitor?.links().values() ?? []) if (l.name === ifname) return l;
    return undefined;
  }

  /** Units of `names`: their sync group's name, or the instance's own for a lone instance. */
  #units(config: Config, names: readonly string[]): Map<string, VrrpInstance[]> {
    const units = new Map<string, VrrpInstance[]>();
    for (const inst of config.instances) {
      if (!names.includes(inst.name)) continue;
      const unit = inst.syncGroup !== null ? `group:${inst.syncGroup}` : `instance:${inst.name}`;
      units.set(unit, [...(units.get(unit) ?? []), inst]);
    }
    return units;
  }

  #trackerRefs(config: Config, inst: VrrpInstance): TrackerRef[] {
    const refs: TrackerRef[] = [];
    // keepalived tracks the instance's own interface as if with weight 0 (down = FAULT).
    if (!inst.dontTrackPrimary && inst.interface !== null) {
      refs.push({ kind: 'interface', name: inst.interface, weight: 0, reverse: false });
    }
    const add = (kind: TrackerRef['kind'], list: readonly { name: string; weight: number; reverse: boolean }[], weighted: boolean): void => {
      for (const t of list) refs.push({ kind, name: t.name, weight: weighted ? t.weight : 0, reverse: t.reverse });
    };
    // A script disabled at load time (missing, not executable, insecure) tracks nothing, as in keepalived.
    const runnable = (list: readonly { name: string; weight: number; reverse: boolean }[]) =>
      list.filter((t) => this.#tracking?.disabled(t.name) === undefined);
    add('interface', inst.trackInterfaces, true);
    add('script', runnable(inst.trackScripts), true);
    add('file', inst.trackFiles, true);
    const group = config.syncGroups.find((g) => g.name === inst.syncGroup);
    if (group) {
      // Group trackers put every member in FAULT; their weights count only with sync_group_tracking_weight.
      add('interface', group.trackInterfaces, group.trackingWeight);
      add('script', runnable(group.trackScripts), group.trackingWeight);
      add('file', group.trackFiles, group.trackingWeight);
    }
    return refs;
  }

  #newRuntime(inst: VrrpInstance, unit: string): Runtime {
    const auth = inst.auth;
    const authType = inst.version === 2 && auth !== null ? (auth.type === 'PASS' ? AUTH_PASS : 2) : AUTH_NONE;
    const addresses = inst.vips.map((v) => canonicalAddress(v.address) ?? v.address);
    const expectBase: ValidateExpect = {
      version: inst.version,
      intervalCs: Math.round(inst.advertIntervalMs / 10),
      authType,
      ...(auth !== null && authType === AUTH_PASS ? { authPass: authDataFromPassword(auth.password) } : {}),
      unicast: inst.unicast,
    };
    const rt: Runtime = {
      cfg: inst,
      unit,
      source: null,
      stats: emptyStats(),
      lastTransition: null,
      vipsReady: Promise.resolve(),
      garpAbort: null,
      // keepalived 2.2.7 (vrrp_check_packet) drops adverts whose address list differs from
      // ours: two hosts that disagree must not form one router.
      expect: { ...expectBase, vips: addresses, vipSet: new Set(addresses), strict: true },
      expectSkipAddrs: expectBase,
      advertTemplate: {
        version: inst.version,
        type: 1,
        vrid: inst.vrid,
        addresses,
        intervalCs: Math.round(inst.advertIntervalMs / 10),
        authType,
        authData: inst.version === 2 ? authDataFromPassword(authType === AUTH_PASS && auth !== null ? auth.password : '') : Buffer.alloc(0),
      },
      peers: new Map(inst.unicastPeers.map((p) => [canonicalAddress(p.address) ?? p.address, p])),
      ownFaults: [],
      fed: null,
      lastWarned: new Map(),
      splitBrain: new SplitBrainWatch(),
      lowerPrioGarpTimer: undefined,
      splitBrainUnsaid: false,
      splitBrainStart: null,
      vipRefusal: new RefusalRetry({
        onRetry: () => {
          if (this.#runtimes.get(rt.cfg.name) === rt) this.#refreshFaults(rt);
        },
        masterDownMs: () => this.#masterDownMs(rt),
      }),
      startupPending: false,
      refs: [],
      sending: new Set(),
    };
    return rt;
  }

  #owned(rt: Runtime): OwnedVips {
    return { owner: rt.cfg.name, vips: [...rt.cfg.vips, ...rt.cfg.excludedVips], ifname: rt.cfg.interface ?? '' };
  }

  /** Creates, wires and starts the instances `names` of `config` (start-up and reload). */
  async #addInstances(config: Config, names: readonly string[], startup: boolean): Promise<void> {
    const units = this.#units(config, names);
    const vipNames = new Set(names);
    for (const [unit, members] of units) {
      for (const inst of members) this.#runtimes.set(inst.name, this.#newRuntime(inst, unit));
    }
    // VIPs left on the host by a crashed run (keepalived removes them too). On reload a
    // new instance may take over VIPs an unchanged one holds: leave those alone.
    const heldElsewhere = new Set<string>();
    for (const [name, rt] of this.#runtimes) {
      if (vipNames.has(name)) continue;
      for (const v of rt.cfg.vips) heldElsewhere.add(v.address);
    }
    await Promise.all(
      names.map((n) => {
        const rt = this.#runtimes.get(n) as Runtime;
        const owned = this.#owned(rt);
        return this.#vips.purge({ ...owned, vips: owned.vips.filter((v) => !heldElsewhere.has(v.address)) });
      }),
    );
    if (!startup) this.#log.debug({ names }, 'instances added');

    for (const [unit, members] of units) {
      const resolved = await Promise.all(members.map(async (inst) => ({ inst, source: await this.#resolveSource(inst) })));
      const params = syncGroupInitialStates(
        resolved.map(({ inst, source }) => instanceParams(inst, source ?? (inst.family === 4 ? '0.0.0.0' : '::'))),
      );
      this.#engine.addUnit(unit, params);
      for (const { inst, source } of resolved) {
        const rt = this.#runtimes.get(inst.name) as Runtime;
        rt.source = source;
        this.#attachTransport(rt);
        for (const ref of this.#trackerRefs(config, inst)) {
          if (ref.kind === 'interface') this.#board.set('interface', ref.name, this.#ifaceStatus(ref.name));
        }
        rt.refs = this.#trackerRefs(config, inst);
        this.#board.subscribe(inst.name, inst.priority, rt.refs);
        this.#refreshFaults(rt);
      }
      for (const { inst } of resolved) {
        const rt = this.#runtimes.get(inst.name) as Runtime;
        if (this.#awaitingScripts(rt)) {
          rt.startupPending = true;
          this.#log.info({ instance: inst.name }, `(${inst.name}) waiting for the first result of its weight-0 track scripts before starting`);
        } else {
          this.#engine.feed(inst.name, { type: 'startup' });
        }
      }
    }
  }

  #ifaceStatus(ifname: string): 'ok' | 'failing' {
    const l = this.#link(ifname);
    return l !== undefined && l.up && l.running ? 'ok' : 'failing';
  }

  /**
   * The advert source of an instance. `dumps` shares one address dump per interface among
   * the instances resolved together (200 instances must not mean 200 dumps per event).
   */
  async #resolveSource(inst: VrrpInstance, dumps = new Map<number, Promise<AddressInfo[]>>()): Promise<string | null> {
    if (inst.sourceAddress !== null) return canonicalAddress(inst.sourceAddress) ?? inst.sourceAddress;
    if (inst.interface === null) return null;
    const index = this.#ifindex(inst.interface);
    if (index === undefined) return null;
    try {
      let dump = dumps.get(index);
      if (dump === undefined) {
        dump = this.#netlink.listAddresses({ index });
        dumps.set(index, dump);
      }
      const addrs = await dump;
      const found = inst.family === 4 ? pickPrimaryIpv4(addrs, inst.vips.map((v) => v.address)) : pickIpv6LinkLocal(addrs);
      return found ?? null;
    } catch (err) {
      this.#log.warn({ instance: inst.name, err: (err as Error).message }, `(${inst.name}) cannot read the addresses of ${inst.interface}`);
      return null;
    }
  }

  /** Joins the instance to its interface's shared socket, opening it if needed. */
  #attachTransport(rt: Runtime): void {
    const ifname = rt.cfg.interface;
    if (ifname === null) return;
    const key = transportKey(ifname, rt.cfg.family);
    let entry = this.#transports.get(key);
    if (entry === undefined) {
      entry = { key, transport: null, byVrid: new Map(), joined: false };
      this.#transports.set(key, entry);
    }
    entry.byVrid.set(rt.cfg.vrid, rt.cfg.name);
    // The socket was opened for the instances attached so far: a multicast instance joining
    // unicast-only ones (or wanting another group) needs it reopened, or it hears no peer.
    const want = this.#transportWants(entry, rt.cfg.family);
    const t = entry.transport;
    if (t !== null && !t.closed && want.join && (!entry.joined || t.multicastGroup !== want.group)) {
      t.close();
      entry.transport = null;
    }
    if (entry.transport === null || entry.transport.closed) this.#openTransport(entry, ifname, rt.cfg.family);
  }

  /** Whether the entry's socket must join a multicast group, and which one. */
  #transportWants(entry: TransportEntry, family: 4 | 6): { join: boolean; group: string } {
    const names = [...entry.byVrid.values()];
    const join = names.some((n) => !(this.#runtimes.get(n)?.cfg.unicast ?? false));
    const group =
      names.map((n) => this.#runtimes.get(n)?.cfg.mcastDestination).find((g): g is string => typeof g === 'string') ??
      (family === 4 ? this.#config.global.mcastGroup4 : this.#config.global.mcastGroup6);
    return { join, group };
  }

  #openTransport(entry: TransportEntry, ifname: string, family: 4 | 6): void {
    if (this.#ifindex(ifname) === undefined) return; // opened when the link appears
    const { join, group } = this.#transportWants(entry, family);
    try {
      entry.joined = join;
      entry.transport = openTransport({
        ifname,
        family,
        multicastGroup: group,
        joinMulticast: join,
        onPacket: (bytes, meta) => this.#onPacket(entry, bytes, meta),
        onError: (err) => this.#log.warn({ ifname, err: err.message }, `VRRP socket on ${ifname}: ${err.message}`),
      });
    } catch (err) {
      entry.transport = null;
      this.#log.error({ ifname, err: (err as Error).message }, `cannot open the VRRP socket on ${ifname}: ${(err as Error).message}`);
    }
  }

  #detachTransport(rt: Runtime): void {
    if (rt.cfg.interface === null) return;
    const key = transportKey(rt.cfg.interface, rt.cfg.family);
    const entry = this.#transports.get(key);
    if (!entry) return;
    if (entry.byVrid.get(rt.cfg.vrid) === rt.cfg.name) entry.byVrid.delete(rt.cfg.vrid);
    if (entry.byVrid.size === 0) {
      entry.transport?.close();
      this.#transports.delete(key);
    }
  }

  // ---- priority and faults -----------------------------------------------------------

  /** A weight-0 vrrp_script of this instance has not reported yet. */
  #awaitingScripts(rt: Runtime): boolean {
    return this.#trackerRefs(this.#config, rt.cfg).some(
      (r) => r.kind === 'script' && r.weight === 0 && (this.#board.get('script', r.name) ?? 'unknown') === 'unknown',
    );
  }

  #onTrackerChanges(changes: readonly PriorityChange[]): void {
    if (this.#stopping) return;
    for (const ch of changes) {
      const rt = this.#runtimes.get(ch.instance);
      if (rt) this.#feedPriority(rt);
    }
    // A script's first result may release instances held in INIT (their own priority may not have moved).
    for (const rt of this.#runtimes.values()) {
      if (rt.startupPending && !this.#awaitingScripts(rt)) {
        rt.startupPending = false;
        this.#engine.feed(rt.cfg.name, { type: 'startup' });
      }
    }
  }

  /** Recomputes what the daemon sees as faults of its own and feeds any change. */
  #refreshFaults(rt: Runtime): void {
    const faults: string[] = [];
    const ifname = rt.cfg.interface;
    if (ifname === null) faults.push('no interface configured');
    else if (this.#ifindex(ifname) === undefined) faults.push(`interface ${ifname} not present`);
    else {
      const entry = this.#transports.get(transportKey(ifname, rt.cfg.family));
      if (entry?.transport === null || entry?.transport === undefined) faults.push(`no VRRP socket on ${ifname}`);
    }
    if (rt.source === null && ifname !== null && this.#ifindex(ifname) !== undefined) {
      faults.push(`no IPv${rt.cfg.family} ${rt.cfg.family === 6 ? 'link-local ' : ''}address on ${ifname} to send adverts from`);
    }
    if (rt.vipRefusal.fault !== null) faults.push(rt.vipRefusal.fault);
    rt.ownFaults = faults;
    this.#feedPriority(rt);
  }

  #vipsRefused(owner: string, problems: readonly string[]): void {
    const rt = this.#runtimes.get(owner);
    if (rt === undefined || this.#stopping) return;
    const devs = new Set([...rt.cfg.vips, ...rt.cfg.excludedVips].map((v) => v.dev ?? rt.cfg.interface ?? ''));
    rt.vipRefusal.refused(problems, [...devs].filter((d) => d !== ''));
    this.#refreshFaults(rt);
  }

  #feedPriority(rt: Runtime): void {
    const tracked: PriorityResult = this.#board.current(rt.cfg.name) ?? { priority: rt.cfg.priority, fault: false, faultReasons: [] };
    const reasons = [...rt.ownFaults, ...tracked.faultReasons];
    const next = { priority: tracked.priority, fault: reasons.length > 0, reasons: reasons.join('; ') };
    const prev = rt.fed;
    rt.fed = next;
    const name = rt.cfg.name;
    if (prev === null || prev.priority !== next.priority) {
      const reason = prev === null ? 'start-up' : `trackers: priority ${prev.priority} -> ${next.priority}`;
      if (prev !== null) this.#log.info({ instance: name, from: prev.priority, to: next.priority }, `(${name}) Changing effective priority from ${prev.priority} to ${next.priority}`);
      this.#engine.feed(name, { type: 'priority', priority: next.priority, reason });
      const st = this.#engine.state(name)?.state;
      if (prev !== null && rt.cfg.notifyPriorityChanges && (st === 'MASTER' || st === 'BACKUP')) {
        this.#notifier.priorityChanged({ kind: 'INSTANCE', name, scripts: rt.cfg.notify }, st, next.priority);
      }
    }
    if (prev === null ? next.fault : prev.fault !== next.fault || prev.reasons !== next.reasons) {
      this.#engine.feed(name, { type: 'fault', fault: next.fault, reason: next.reasons || 'no fault left', reasons });
    }
  }

  // ---- packets -------------------------------------------------------------------

  #countUnattributed(entry: TransportEntry, bytes: Buffer, family: 4 | 6, reason: DropReason): string | undefined {
    // A packet the codec refused still names its VRID if it got that far: charge that instance.
    const offset = family === 4 ? ((bytes[0] ?? 0) & 0x0f) * 4 || IPV4_HEADER_LENGTH : 0;
    const vrid = bytes[offset + 1];
    const name = vrid === undefined ? undefined : entry.byVrid.get(vrid);
    const rt = name === undefined ? undefined : this.#runtimes.get(name);
    if (rt) rt.stats.dropped[reason] = (rt.stats.dropped[reason] ?? 0) + 1;
    else this.#unattributed[reason]++;
    return name;
  }

  #onPacket(entry: TransportEntry, bytes: Buffer, meta: PacketMeta): void {
    const res =
      meta.family === 4
        ? decode(bytes, { family: 4, checkTtl: false })
        : decode(bytes, { family: 6, src: meta.src, dst: meta.dst, hopLimit: meta.hopLimit ?? null, checkTtl: false });
    if (!res.ok) {
      const name = this.#countUnattributed(entry, bytes, meta.family, res.reason);
      this.#log.debug({ ifname: meta.ifname, src: meta.src, reason: res.reason, detail: res.detail, instance: name }, 'advert dropped');
      return;
    }
    const pkt = res.packet;
    const src = canonicalAddress(pkt.src) ?? pkt.src;
    if (this.#ownAddresses.has(src)) return; // our own advert (unicast to ourselves)
    const name = entry.byVrid.get(pkt.advert.vrid);
    const rt = name === undefined ? undefined : this.#runtimes.get(name);
    if (rt === undefined || name === undefined) {
      this.#unattributed.vrid++;
      this.#log.debug({ ifname: meta.ifname, src, vrid: pkt.advert.vrid }, 'advert for a VRID we do not run');
      return;
    }
    const drop = (reason: DropReason, detail: string): void => {
      rt.stats.dropped[reason] = (rt.stats.dropped[reason] ?? 0) + 1;
      const msg = `(${name}) advert from ${src} dropped: ${detail}`;
      // A peer that disagrees with us (password, interval, VIPs, version) is a configuration
      // problem the operator must see, but not once a second: once a minute per reason.
      if (MISCONFIGURATION.has(reason) && pkt.advert.priority > 0) this.#heardAsMaster(rt, src, `its adverts are dropped: ${detail}`);
      if (MISCONFIGURATION.has(reason) && this.#firstInAWhile(rt, `drop:${reason}:${src}`)) {
        this.#log.warn({ instance: name, src, reason, detail }, msg);
      } else {
        this.#log.debug({ instance: name, src, reason, detail }, msg);
      }
    };
    if (rt.cfg.unicast) {
      const peer = rt.peers.get(src);
      if (peer === undefined) return drop('peer', `${src} is not a unicast_peer`);
      if (pkt.ttl !== null && (pkt.ttl < peer.minTtl || pkt.ttl > peer.maxTtl)) {
        return drop('ttl', `TTL ${pkt.ttl} outside ${peer.minTtl}..${peer.maxTtl} for peer ${src}`);
      }
    } else if (pkt.ttl !== null && pkt.ttl !== 255) {
      // RFC 3768 §7.1 / RFC 5798 §7.1
      return drop('ttl', `TTL ${pkt.ttl}, must be 255`);
    }
    // skip_check_adv_addr (keepalived vrrp_state_backup): a BACKUP skips the VIP-list check
    // only for adverts from the master it already follows; a MASTER always checks.
    const st = this.#engine.state(name);
    const skipAddrs = rt.cfg.skipCheckAdvAddr && st?.state === 'BACKUP' && st.lastMaster?.address === src;
    const v = validate(pkt, skipAddrs ? rt.expectSkipAddrs : rt.expect);
    if (!v.ok) return drop(v.reason, v.detail);
    for (const w of v.warnings) this.#log.debug({ instance: name, src }, `(${name}) ${w}`);
    rt.stats.advertRx++;
    if (pkt.advert.priority === 0) rt.stats.priorityZeroRx++;
    else {
      // Logged after the advert is processed: if it makes us yield at once, one line says so.
      rt.splitBrainUnsaid = true;
      this.#heardAsMaster(rt, src, `advert with priority ${pkt.advert.priority}`);
    }
    this.#engine.feed(name, {
      type: 'advert',
      advert: { from: src, priority: pkt.advert.priority, intervalCs: pkt.advert.intervalCs },
    });
    if (rt.splitBrainUnsaid) {
      rt.splitBrainUnsaid = false;
      const pending = rt.splitBrainStart;
      rt.splitBrainStart = null;
      this.#splitBrainChanged(rt, pending);
    }
    const after = this.#engine.state(name);
    if (after?.state === 'MASTER' && pkt.advert.priority > 0 && pkt.advert.priority < after.effectivePriority) {
      this.#lowerPriorityGarp(rt);
    }
  }

  /**
   * keepalived (vrrp_state_master_rx, garp_lower_prio_repeat/delay): a MASTER hearing a
   * lower-priority master re-announces its VIPs, now and once more after the delay. After a
   * partition heals, clients that followed the other side's gratuitous ARPs come back.
   * At most one burst a second, so forged adverts cannot turn vipd into an ARP amplifier.
   */
  #lowerPriorityGarp(rt: Runtime): void {
    const { lowerPrioRepeat, lowerPrioDelayMs } = rt.cfg.garp;
    if (lowerPrioRepeat === 0 || !this.#firstInAWhile(rt, 'garp:lower-prio', 1000)) return;
    this.#log.info({ instance: rt.cfg.name }, `(${rt.cfg.name}) lower priority master heard: re-announcing our VIPs`);
    this.#sendGarp(rt, lowerPrioRepeat);
    if (lowerPrioDelayMs > 0 && rt.lowerPrioGarpTimer === undefined) {
      rt.lowerPrioGarpTimer = setTimeout(() => {
        rt.lowerPrioGarpTimer = undefined;
        if (this.#runtimes.get(rt.cfg.name) === rt && this.#engine.state(rt.cfg.name)?.state === 'MASTER') this.#sendGarp(rt, lowerPrioRepeat);
      }, lowerPrioDelayMs);
    }
  }

  // ---- actions -------------------------------------------------------------------

  #execute(name: string, action: ExecutedAction, state: InstanceState): void {
    const rt = this.#runtimes.get(name);
    if (rt === undefined) return;
    switch (action.type) {
      case 'sendAdvert':
        this.#sendAdvert(rt, action.priority);
        break;
      case 'addVips':
        rt.vipsReady = this.#vips.hold(this.#owned(rt));
        break;
      case 'removeVips':
        rt.garpAbort?.abort();
        rt.garpAbort = null;
        rt.vipsReady = this.#vips.release(this.#owned(rt));
        break;
      case 'sendGarp':
        this.#sendGarp(rt, action.repeat);
        break;
      case 'transition':
        this.#transition(rt, action.from, action.to, action.reason, state);
        break;
      case 'notify':
        this.#notifier.notify({ kind: 'INSTANCE', name, scripts: rt.cfg.notify }, action.state, action.priority);
        break;
      case 'advertDropped':
        rt.stats.dropped[action.reason] = (rt.stats.dropped[action.reason] ?? 0) + 1;
        this.#log.debug({ instance: name, detail: action.detail }, `(${name}) advert dropped: ${action.detail}`);
        break;
    }
  }

  #masterDownMs(rt: Runtime): number {
    const st = this.#engine.state(rt.cfg.name);
    const intervalCs = st?.masterAdverIntervalCs ?? Math.round(rt.cfg.advertIntervalMs / 10);
    return masterDownIntervalMs(st?.effectivePriority ?? rt.cfg.priority, intervalCs, rt.cfg.version, rt.cfg.downTimerAdverts);
  }

  /** An advert for our VRID from another router: while we are MASTER, that is a split brain. */
  #heardAsMaster(rt: Runtime, src: string, evidence: string): void {
    rt.vipRefusal.heardMaster();
    if (this.#engine.state(rt.cfg.name)?.state !== 'MASTER') return;
    const change = rt.splitBrain.heard(this.#sched.now(), new Date().toISOString(), src, evidence, this.#masterDownMs(rt));
    this.#splitBrainChanged(rt, change);
  }

  #splitBrainChanged(rt: Runtime, change: SplitBrainChange | null): void {
    if (change === null) return;
    const name = rt.cfg.name;
    const e = change.episode;
    if (rt.splitBrainUnsaid) {
      if (change.kind === 'started') {
        rt.splitBrainStart = change;
        return;
      }
      // Heard another master and yielded to it in the same breath: a preemption by a higher
      // priority router, or the moment a partition healed; we cannot tell which from here.
      rt.splitBrainStart = null;
      this.#log.info(
        { instance: name, vrid: rt.cfg.vrid, peer: e.peer, masterSince: e.masterSince, reason: e.endReason },
        `(${name}) ${e.peer} claimed MASTER for VRID ${rt.cfg.vrid} while we were MASTER (since ${e.masterSince}): a preemption or a healed partition; ${e.endReason ?? ''}`,
      );
      return;
    }
    if (change.kind === 'started') {
      this.#log.warn(
        { instance: name, vrid: rt.cfg.vrid, peer: e.peer, evidence: e.evidence },
        `(${name}) split brain: ${e.peer} also acts as MASTER for VRID ${rt.cfg.vrid} while we are MASTER (${e.evidence}); we have been MASTER since ${e.masterSince}`,
      );
    } else {
      this.#log.warn(
        { instance: name, vrid: rt.cfg.vrid, peer: e.peer, since: e.since, durationMs: Math.round(change.durationMs), reason: e.endReason },
        `(${name}) split brain with ${e.peer} ended after ${Math.round(change.durationMs / 100) / 10} s: ${e.endReason ?? ''}`,
      );
    }
  }

  #sendAdvert(rt: Runtime, priority: number): void {
    if (priority > 0) this.#splitBrainChanged(rt, rt.splitBrain.tick(this.#sched.now(), new Date().toISOString(), this.#masterDownMs(rt)));
    const ifname = rt.cfg.interface;
    const entry = ifname === null ? undefined : this.#transports.get(transportKey(ifname, rt.cfg.family));
    const transport = entry?.transport;
    if (!transport || transport.closed || rt.source === null) return;
    const advert: Advert = { ...rt.advertTemplate, priority };
    const targets = rt.cfg.unicast
      ? rt.cfg.unicastPeers.map((p) => p.address)
      : [rt.cfg.mcastDestination ?? transport.multicastGroup];
    for (const dst of targets) {
      const message = encode(advert, { family: rt.cfg.family, src: rt.source, dst });
      const sent = transport.send(message, { src: rt.source, dst }).catch((err: Error) => this.#sendFailed(rt, dst, err));
      rt.sending.add(sent);
      void sent.finally(() => rt.sending.delete(sent));
    }
    rt.stats.advertTx++;
    if (priority === 0) rt.stats.priorityZeroTx++;
  }

  #firstInAWhile(rt: Runtime, key: string, everyMs = WARN_EVERY_MS): boolean {
    const now = this.#sched.now();
    const last = rt.lastWarned.get(key);
    if (last !== undefined && now - last < everyMs) return false;
    // A drop key names the sender, which anyone on the LAN can forge: keep the map in time
    // order (re-insert), expire it from the front, and warn about a bounded number of senders.
    rt.lastWarned.delete(key);
    for (const [k, t] of rt.lastWarned) {
      if (now - t < WARN_EVERY_MS) break;
      rt.lastWarned.delete(k);
    }
    if (key.startsWith('drop:') && rt.lastWarned.size >= MAX_WARNED_KEYS) return false;
    rt.lastWarned.set(key, now);
    return true;
  }

  #sendFailed(rt: Runtime, dst: string, err: Error): void {
    // The same failure every advert interval would flood the log: once a minute per text.
    if (!this.#firstInAWhile(rt, `send:${dst}:${err.message}`)) return;
    this.#log.warn({ instance: rt.cfg.name, dst, err: err.message }, `(${rt.cfg.name}) cannot send advert to ${dst}: ${err.message}`);
  }

  #sendGarp(rt: Runtime, repeat: number): void {
    const ifname = rt.cfg.interface;
    const link = ifname === null ? undefined : this.#link(ifname);
    if (!this.#garp || link === undefined || link.mac === null) return;
    rt.garpAbort?.abort();
    const abort = new AbortController();
    rt.garpAbort = abort;
    const all = [...rt.cfg.vips, ...rt.cfg.excludedVips].filter((v) => (v.dev ?? ifname) === ifname);
    const ipv4 = all.filter((v) => v.family === 4).map((v) => v.address);
    const ipv6 = all.filter((v) => v.family === 6).map((v) => v.address);
    const garp = this.#garp;
    void rt.vipsReady
      .then(() => {
        if (abort.signal.aborted) return undefined;
        return garp.burst({
          ifindex: link.index,
          ifname: link.name,
          mac: link.mac as string,
          ipv4,
          ipv6,
          repeat,
          garpIntervalMs: this.#config.global.garpIntervalMs,
          gnaIntervalMs: this.#config.global.gnaIntervalMs,
          signal: abort.signal,
        });
      })
      .then((r) => {
        if (r === undefined) return;
        for (const e of r.errors) this.#log.warn({ instance: rt.cfg.name, err: e.message }, `(${rt.cfg.name}) gratuitous ARP: ${e.message}`);
        this.#log.debug({ instance: rt.cfg.name, sent: r.sent, cancelled: r.cancelled }, 'gratuitous ARP burst');
      })
      .catch((err: Error) => this.#log.warn({ instance: rt.cfg.name, err: err.message }, `(${rt.cfg.name}) gratuitous ARP failed: ${err.message}`));
  }

  #transition(rt: Runtime, from: string, to: string, reason: string, state: InstanceState): void {
    const name = rt.cfg.name;
    rt.lastTransition = { from, to, at: new Date().toISOString(), reason };
    if (to === 'MASTER') {
      rt.stats.becameMaster++;
      rt.splitBrain.master(this.#sched.now(), rt.lastTransition.at, reason);
    }
    if (from === 'MASTER') {
      rt.stats.releasedMaster++;
      rt.garpAbort?.abort();
      rt.garpAbort = null;
      this.#splitBrainChanged(rt, rt.splitBrain.master(null, rt.lastTransition.at, `we left MASTER (${reason})`));
    }
    const words = to === 'INIT' ? 'Stopped' : `Entering ${to} STATE`;
    this.#log.info(
      { instance: name, vrid: rt.cfg.vrid, from, to, reason, priority: state.effectivePriority },
      `(${name}) ${words} (${reason})`,
    );
    this.#groupNotify(rt);
  }

  /** vrrp_sync_group notify*: once the whole group has settled in one state. */
  readonly #groupNotified = new Map<string, string>();
  #groupNotify(rt: Runtime): void {
    const groupName = rt.cfg.syncGroup;
    if (groupName === null) return;
    const group = this.#config.syncGroups.find((g) => g.name === groupName);
    if (!group) return;
    const states = group.instances.map((n) => this.#engine.state(n)?.state);
    const first = states[0];
    if (first === undefined || !states.every((s) => s === first)) return;
    const target = first === 'INIT' ? 'STOP' : first;
    if (this.#groupNotified.get(groupName) === target) return;
    this.#groupNotified.set(groupName, target);
    // keepalived reports priority 0 for groups (FIFO line and `notify` argument).
    this.#notifier.notify({ kind: 'GROUP', name: groupName, scripts: group.notify }, target, 0);
  }

  // ---- kernel news -----------------------------------------------------------------

  #onNetEvent(ev: NetEvent): void {
    if (this.#stopping) return;
    if (ev.type === 'address') {
      const addr = canonicalAddress(ev.address) ?? ev.address;
      if (ev.change === 'added') this.#ownAddresses.add(addr);
      else {
        this.#ownAddresses.delete(addr);
        this.#vips.addressRemoved(ev.index, ev.address, ev.prefixLength);
      }
      // An interface that gained or lost its address may change an instance's source.
      const link = this.#monitor?.links().get(ev.index);
      if (link) this.#reresolveSources(link.name);
      if (link && ev.change === 'added') for (const rt of this.#runtimes.values()) rt.vipRefusal.news(link.name);
      return;
    }
    // link news
    const names = new Set([ev.name, ...(ev.renamedFrom !== undefined ? [ev.renamedFrom] : [])]);
    for (const n of names) {
      for (const ch of this.#board.set('interface', n, this.#ifaceStatus(n))) {
        const rt = this.#runtimes.get(ch.instance);
        if (rt) this.#feedPriority(rt);
      }
      for (const family of [4, 6] as const) {
        const entry = this.#transports.get(transportKey(n, family));
        if (!entry) continue;
        const index = this.#ifindex(n);
        if (index === undefined) {
          entry.transport?.close();
          entry.transport = null;
        } else if (entry.transport === null || entry.transport.closed || entry.transport.ifindex !== index) {
          entry.transport?.close();
          entry.transport = null;
          this.#openTransport(entry, n, family);
        }
      }
      this.#reresolveSources(n);
      if (!ev.deleted && ev.up) for (const rt of this.#runtimes.values()) rt.vipRefusal.news(n);
    }
  }

  /** The latest source resolution started per instance. */
  readonly #resolving = new WeakMap<Runtime, number>();
  /** Interfaces with address/link news not yet acted on: a burst of news is one pass. */
  readonly #resolvePending = new Set<string>();
  #resolveTimer: NodeJS.Timeout | undefined;

  #reresolveSources(ifname: string): void {
    this.#resolvePending.add(ifname);
    // Becoming MASTER adds every VIP at once, each a piece of kernel news: wait for the burst.
    this.#resolveTimer ??= setTimeout(() => {
      this.#resolveTimer = undefined;
      const names = [...this.#resolvePending];
      this.#resolvePending.clear();
      const dumps = new Map<number, Promise<AddressInfo[]>>();
      for (const n of names) void this.#reresolveNow(n, dumps);
    }, 20);
  }

  async #reresolveNow(ifname: string, dumps: Map<number, Promise<AddressInfo[]>>): Promise<void> {
    if (this.#stopping) return;
    for (const rt of this.#runtimes.values()) {
      if (rt.cfg.interface !== ifname) continue;
      const seq = (this.#resolving.get(rt) ?? 0) + 1;
      this.#resolving.set(rt, seq);
      const source = await this.#resolveSource(rt.cfg, dumps);
      // News overtook this answer (a rename right after a link change): the later call decides.
      if (!this.#runtimes.has(rt.cfg.name) || this.#resolving.get(rt) !== seq) continue;
      if (source !== rt.source) {
        this.#log.info({ instance: rt.cfg.name, from: rt.source, to: source }, `(${rt.cfg.name}) advert source is now ${source ?? 'none'}`);
        rt.source = source;
        if (source !== null) this.#engine.patchParams(rt.cfg.name, { primaryAddress: source });
      }
      this.#refreshFaults(rt);
    }
  }

  // ---- reload ----------------------------------------------------------------------

  reload(trigger: string): Promise<ReloadResult> {
    if (!this.#ready) return Promise.resolve({ ok: false, diagnostics: ['vipd is still starting'], kept: [], rebuilt: [], added: [], removed: [] });
    if (this.#stopping) return Promise.resolve({ ok: false, diagnostics: ['vipd is stopping'], kept: [], rebuilt: [], added: [], removed: [] });
    // Reloads never overlap: a request during one waits for it, then runs with the newest file.
    const run = async (): Promise<ReloadResult> => this.#reload(trigger);
    const next = (this.#reloading ?? Promise.resolve()).then(run, run);
    this.#reloading = next;
    void next.finally(() => {
      if (this.#reloading === next) this.#reloading = null;
    });
    return next;
  }

  async #reload(trigger: string): Promise<ReloadResult> {
    this.#log.info({ trigger }, `reloading ${this.#opts.configFile} (${trigger})`);
    const res = await loadConfigAsync(this.#opts.configFile, { configId: this.#opts.configId });
    const diagnostics = res.diagnostics.map(formatDiagnostic);
    if (res.config === null) {
      this.#logDiagnostics(res.diagnostics);
      this.#log.error({ trigger }, 'reload refused: the new configuration has errors; still running the previous one');
      return { ok: false, diagnostics, kept: [], rebuilt: [], added: [], removed: [] };
    }
    if (trigger === WATCH_TRIGGER) {
      const why = await watchReloadRefusal(this.#config, res.config, res.diagnostics);
      if (why !== null) {
        this.#logDiagnostics(res.diagnostics);
        this.#log.error({ trigger, reason: why }, `reload refused: ${why}; still running the previous configuration`);
        return { ok: false, diagnostics: [...diagnostics, why], kept: [], rebuilt: [], added: [], removed: [] };
      }
    }
    this.#logDiagnostics(await hostChecksAsync(res.config));
    const next = res.config;
    const old = this.#config;
    // Trackers and FIFOs first: unchanged ones keep running, and a reload must know which
    // scripts are runnable before it can tell whether an instance's trackers changed.
    this.#users = await loadScriptUsers(next.global.scriptUser);
    this.#notifier.configure(this.#users, next.global.enableScriptSecurity);
    await this.#fifos?.configure(next.global, this.#users);
    await this.#tracking?.apply(next, this.#users, true);
    const oldUnits = this.#units(old, old.instances.map((i) => i.name));
    const newUnits = this.#units(next, next.instances.map((i) => i.name));
    const unitOf = (units: Map<string, VrrpInstance[]>, name: string): string | undefined =>
      [...units].find(([, ms]) => ms.some((m) => m.name === name))?.[0];
    const sameUnit = (unit: string): boolean => {
      const a = oldUnits.get(unit);
      const b = newUnits.get(unit);
      if (!a || !b || a.length !== b.length) return false;
      const group = (c: Config): unknown => withoutLocations(c.syncGroups.find((g) => `group:${g.name}` === unit) ?? null);
      if (!isDeepStrictEqual(group(old), group(next))) return false;
      return a.every((ai) => {
        const bi = b.find((x) => x.name === ai.name);
        return bi !== undefined && isDeepStrictEqual(withoutLocations(ai), withoutLocations(bi)) &&
          isDeepStrictEqual(this.#runtimes.get(ai.name)?.refs, this.#trackerRefs(next, bi));
      });
    };
    const kept: string[] = [];
    const rebuilt: string[] = [];
    const removed: string[] = [];
    const added: string[] = [];
    const removeUnits: string[] = [];
    for (const [unit, members] of oldUnits) {
      if (sameUnit(unit)) {
        kept.push(...members.map((m) => m.name));
        continue;
      }
      removeUnits.push(unit);
      for (const m of members) (next.instances.some((i) => i.name === m.name) ? rebuilt : removed).push(m.name);
    }
    for (const inst of next.instances) {
      if (!kept.includes(inst.name) && !rebuilt.includes(inst.name)) added.push(inst.name);
    }
    // Stop what changed or went away: priority 0 from a MASTER, VIPs released, notify STOP.
    for (const unit of removeUnits) {
      await this.#stopUnit(unit);
    }
    this.#config = next;
    // Kept instances keep their state, timers and VIPs; only their source locations change.
    for (const name of kept) {
      const rt = this.#runtimes.get(name);
      const cfg = next.instances.find((i) => i.name === name);
      if (rt && cfg) {
        rt.cfg = cfg;
        rt.unit = unitOf(newUnits, name) ?? rt.unit;
      }
    }
    await this.#addInstances(next, [...rebuilt, ...added], false);
    this.#board.prune();
    if (this.#opts.watch) await this.#watch();
    this.#log.info(
      { trigger, kept, rebuilt, added, removed },
      `reload done: ${kept.length} kept, ${rebuilt.length} rebuilt, ${added.length} added, ${removed.length} removed`,
    );
    return { ok: true, diagnostics, kept, rebuilt, added, removed };
  }

  /** Resolves when the adverts already handed to the sockets have left (or after `budgetMs`). */
  #advertsSent(runtimes: Iterable<Runtime>, budgetMs: number): Promise<void> {
    const sends = [...runtimes].flatMap((rt) => [...rt.sending]);
    if (sends.length === 0) return Promise.resolve();
    const budget = new Promise<void>((resolve) => setTimeout(resolve, budgetMs).unref());
    return Promise.race([Promise.all(sends).then(() => undefined), budget]);
  }

  /** Shuts a unit's instances down and forgets them. */
  async #stopUnit(unit: string): Promise<void> {
    const names = [...this.#runtimes.values()].filter((rt) => rt.unit === unit).map((rt) => rt.cfg.name);
    for (const n of names) this.#engine.feed(n, { type: 'shutdown' });
    this.#engine.removeUnit(unit);
    // A MASTER's priority-0 advert (RFC 3768 §6.4.3) must leave before its socket may close.
    await this.#advertsSent(names.flatMap((n) => this.#runtimes.get(n) ?? []), SHUTDOWN_BUDGET_MS);
    const releases: Promise<void>[] = [];
    for (const n of names) {
      const rt = this.#runtimes.get(n);
      if (!rt) continue;
      rt.garpAbort?.abort();
      releases.push(rt.vipsReady);
      this.#detachTransport(rt);
      this.#board.unsubscribe(n);
      rt.vipRefusal.close();
      clearTimeout(rt.lowerPrioGarpTimer);
      this.#runtimes.delete(n);
    }
    await Promise.all(releases);
    for (const n of names) this.#vips.forget(n);
  }

  async #watch(): Promise<void> {
    const files = this.#config.files;
    await this.#watcher?.close();
    const { watch } = await import('chokidar');
    // Their directories too: chokidar forgets a file once it is deleted, and a file put back
    // (or renamed into place) would go unnoticed. Other files there are none of our business.
    const dirs = [...new Set(files.map((f) => dirname(f)))];
    const w = watch([...files, ...dirs], { ignoreInitial: true, depth: 0, awaitWriteFinish: { stabilityThreshold: 200, pollInterval: 50 } });
    const changed = (path: string): void => {
      if (!files.includes(path)) return;
      clearTimeout(this.#watchTimer);
      this.#watchTimer = setTimeout(() => void this.reload(WATCH_TRIGGER), 300);
    };
    w.on('change', changed).on('add', changed).on('unlink', changed);
    w.on('error', (err: unknown) => this.#log.warn({ err: String(err) }, 'config watcher: ' + String(err)));
    this.#watcher = w;
  }

  // ---- status ----------------------------------------------------------------------

  status(): StatusDocument {
    const instances: InstanceStatus[] = [];
    for (const inst of this.#config.instances) {
      const rt = this.#runtimes.get(inst.name);
      const st = this.#engine.state(inst.name);
      if (!rt || !st) continue;
      instances.push({
        name: inst.name,
        vrid: inst.vrid,
        interface: inst.interface ?? '',
        version: inst.version,
        state: st.state,
        basePriority: st.basePriority,
        effectivePriority: st.effectivePriority,
        vips: inst.vips.map(vipText),
        master: st.lastMaster,
        lastTransition: rt.lastTransition,
        trackers: this.#trackerStatus(inst),
        stats: rt.stats,
        // A sync group member held in FAULT by another member has no fault of its own: say why.
        faultReasons:
          st.state === 'FAULT' && st.faultReasons.length === 0 && rt.lastTransition !== null ? [rt.lastTransition.reason] : st.faultReasons,
        advertSource: rt.source,
        splitBrain: rt.splitBrain.status(),
      });
    }
    return {
      routerId: this.#config.global.routerId,
      pid: process.pid,
      uptimeSec: Math.round((Date.now() - this.#started) / 100) / 10,
      configFile: this.#opts.configFile,
      instances,
      dropped: { ...this.#unattributed },
    };
  }

  #trackerStatus(inst: VrrpInstance): TrackerStatus[] {
    const out: TrackerStatus[] = [];
    for (const t of this.#board.describe(inst.name)) {
      // The implicit tracking of the instance's own interface is not something the user configured.
      if (t.kind === 'interface' && t.name === inst.interface && t.weight === 0 && !inst.trackInterfaces.some((x) => x.name === t.name)) continue;
      if (t.kind === 'script') {
        const info = this.#tracking?.scriptInfo(t.name);
        out.push(info ? { ...t, runs: info.runs, failures: info.failures, timeouts: info.timeouts, lastOutcome: info.lastOutcome, problem: info.problem } : t);
      } else if (t.kind === 'file') {
        const info = this.#tracking?.fileInfo(t.name);
        out.push(info ? { ...t, path: info.path, problem: info.problem } : t);
      } else out.push(t);
    }
    // Scripts disabled at load time: shown, so the operator sees why they change nothing.
    for (const r of [...inst.trackScripts, ...(this.#config.syncGroups.find((g) => g.name === inst.syncGroup)?.trackScripts ?? [])]) {
      const why = this.#tracking?.disabled(r.name);
      if (why !== undefined) out.push({ kind: 'script', name: r.name, status: 'DISABLED', weight: r.weight, problem: why });
    }
    return out;
  }

  // ---- shutdown --------------------------------------------------------------------

  stop(reason: string): Promise<void> {
    this.#stopping ??= this.#stop(reason);
    return this.#stopping;
  }

  async #stop(reason: string): Promise<void> {
    this.#log.info({ reason }, `vipd stopping (${reason})`);
    clearTimeout(this.#watchTimer);
    await this.#watcher?.close().catch(() => undefined);
    // keepalived stops the FIFO readers before the STOP lines; health checks stop changing anything.
    this.#fifos?.stopScripts();
    const trackersClosed = this.#tracking?.close();
    // Every MASTER sends priority 0 and gives its VIPs back (RFC 3768 §6.4.3), notify_stop runs.
    for (const name of this.#runtimes.keys()) this.#engine.feed(name, { type: 'shutdown' });
    const budget = new Promise<void>((resolve) => setTimeout(resolve, SHUTDOWN_BUDGET_MS).unref());
    await Promise.race([
      Promise.all([
        this.#vips?.settle(),
        this.#notifier?.settle(SHUTDOWN_BUDGET_MS),
        this.#advertsSent(this.#runtimes.values(), SHUTDOWN_BUDGET_MS),
        trackersClosed,
      ]),
      budget,
    ]);
    await this.#fifos?.close();
    this.#close();
    if (this.#opts.pidFile !== null) await unlink(this.#opts.pidFile).catch(() => undefined);
    this.#log.info('vipd stopped');
    this.#resolveDone(0);
  }

  #close(): void {
    this.#engine.close();
    clearTimeout(this.#resolveTimer);
    for (const rt of this.#runtimes.values()) {
      rt.vipRefusal.close();
      clearTimeout(rt.lowerPrioGarpTimer);
    }
    for (const e of this.#transports.values()) e.transport?.close();
    this.#transports.clear();
    this.#garp?.close();
    this.#vips?.close();
    this.#monitor?.close();
    this.#netlink?.close();
    void this.#control?.close();
  }

  /** Releases whatever start() opened after a failed start. */
  async abort(): Promise<void> {
    this.#close();
    await this.#control?.close();
  }
}

/** Entry point used by `vipd` (src/cli/vipd.ts): resolves with the exit status. */
export async function runDaemon(opts: DaemonOptions): Promise<number> {
  const log = createLogger({ console: opts.logConsole, detail: opts.logDetail });
  const daemon = new Daemon(opts, log);
  const onTerm = (signal: string) => () => void daemon.stop(signal);
  const onHup = (): void => void daemon.reload('SIGHUP');
  process.on('SIGTERM', onTerm('SIGTERM'));
  process.on('SIGINT', onTerm('SIGINT'));
  process.on('SIGHUP', onHup);
  try {
    await daemon.start();
  } catch (err) {
    log.fatal({ err: err instanceof Error ? err.message : String(err) }, `vipd cannot start: ${err instanceof Error ? err.message : String(err)}`);
    await daemon.abort();
    return 1;
  }
  const code = await daemon.done;
  process.removeAllListeners('SIGHUP');
  return code;
}
