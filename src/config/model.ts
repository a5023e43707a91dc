/**
 * The validated configuration: what the daemon runs from. Plain JSON data (no Maps,
 * no classes) so `vipd -d` can print it and a reload can diff it.
 *
 * Every keepalived default is already applied here (priority, state, version,
 * garp_*, timeouts, track weights...), so the daemon never needs to know them.
 * Durations are integer milliseconds; addresses are strings as written (IPv6
 * lower-cased, compressed as the user wrote it).
 */
import type { SourceLocation } from './diagnostics.js';

export type { SourceLocation } from './diagnostics.js';

export type AddressFamily = 4 | 6;

export interface Config {
  /** Every file read (the main file and all includes), absolute, for --watch. */
  files: string[];
  /** The id `@ID` lines were matched against (-i, default the short hostname). */
  configId: string;
  /** global_defs, with keepalived defaults for everything not set. */
  global: GlobalConfig;
  /** vrrp_script blocks that have a script (those without one are dropped with a warning). */
  scripts: VrrpScript[];
  /** track_file / vrrp_track_file blocks that name a file. */
  trackFiles: TrackFile[];
  /** vrrp_sync_group blocks with at least one existing member. */
  syncGroups: SyncGroup[];
  /** vrrp_instance blocks, in file order, with every default resolved. */
  instances: VrrpInstance[];
  /** Blocks keepalived knows but vipd does not run (LVS, BFD, static routes...). */
  ignoredBlocks: IgnoredBlock[];
}

export interface GlobalConfig {
  /** router_id; defaults to the host name, as keepalived does. */
  routerId: string;
  /** vrrp_version: the default version of instances (2 unless set). */
  vrrpVersion: 2 | 3;
  /** vrrp_mcast_group4: IPv4 advert destination (default 224.0.0.18). */
  mcastGroup4: string;
  /** vrrp_mcast_group6: IPv6 advert destination (default ff02::12). */
  mcastGroup6: string;
  /** vrrp_garp_* and vrrp_gna_interval: defaults for every instance's garp settings. */
  garp: GarpConfig;
  /** vrrp_garp_interval: minimum gap between gratuitous ARPs on one interface (0 = none). */
  garpIntervalMs: number;
  /** vrrp_gna_interval: minimum gap between unsolicited NAs on one interface (0 = none). */
  gnaIntervalMs: number;
  /** vrrp_skip_check_adv_addr: default for instances' skipCheckAdvAddr. */
  skipCheckAdvAddr: boolean;
  /** vrrp_strict: default for instances' strict mode. */
  strict: boolean;
  /** vrrp_check_unicast_src: default for instances' checkUnicastSrc. */
  checkUnicastSrc: boolean;
  /** vrrp_lower_prio_no_advert: default for instances. */
  lowerPrioNoAdvert: boolean;
  /** vrrp_higher_prio_send_advert: default for instances. */
  higherPrioSendAdvert: boolean;
  /** vrrp_down_timer_adverts: adverts missed before the master is down (default 3). */
  downTimerAdverts: number;
  /** script_user: default user (and group) for scripts; null = keepalived_script or root. */
  scriptUser: { user: string; group: string | null } | null;
  /** enable_script_security: refuse scripts writable by non-root when run as root. */
  enableScriptSecurity: boolean;
  /** notify_fifo (+ notify_fifo_script): every state change written to a FIFO. */
  notifyFifo: NotifyFifo | null;
  /** vrrp_notify_fifo (+ vrrp_notify_fifo_script): VRRP state changes only. */
  vrrpNotifyFifo: NotifyFifo | null;
  /** vrrp_notify_priority_changes: also write priority changes to the FIFOs. */
  notifyPriorityChanges: boolean;
  /** notification_email { }: addresses, kept for completeness (vipd sends no mail). */
  notificationEmail: string[];
  /** notification_email_from. */
  notificationEmailFrom: string | null;
  /** smtp_server <host> [port]. */
  smtpServer: { host: string; port: number } | null;
  /** smtp_helo_name. */
  smtpHeloName: string | null;
  /** smtp_connect_timeout (default 30 s). */
  smtpConnectTimeoutMs: number;
  /** smtp_alert / smtp_alert_vrrp; null when not set. */
  smtpAlert: boolean | null;
  /** dynamic_interfaces: interfaces may appear after start-up. */
  dynamicInterfaces: boolean;
  /** Where global_defs was (null when there is none). */
  loc: SourceLocation | null;
}

/** Gratuitous ARP / unsolicited NA pattern (keepalived names, converted to ms). */
export interface GarpConfig {
  /** garp_master_delay: delay before the second burst after becoming MASTER (default 5 s, 0 = none). */
  masterDelayMs: number;
  /** garp_master_repeat: packets per VIP in each burst (default 5). */
  masterRepeat: number;
  /** garp_master_refresh: periodic re-announcement while MASTER (default 0 = off). */
  masterRefreshMs: number;
  /** garp_master_refresh_repeat: packets per VIP in each refresh (default 1). */
  masterRefreshRepeat: number;
  /** garp_lower_prio_delay: delay of the second burst after a lower-priority advert (defaults to masterDelayMs). */
  lowerPrioDelayMs: number;
  /** garp_lower_prio_repeat: burst size when a lower-priority advert is seen (defaults to masterRepeat). */
  lowerPrioRepeat: number;
}

export interface NotifyFifo {
  /** The FIFO's path. */
  path: string;
  /** *_fifo_script: a script that reads the FIFO (the FIFO path is appended to its argv). */
  script: Command | null;
  /** User the FIFO is created for (null = default script user). */
  user: string | null;
  /** Group the FIFO is created for. */
  group: string | null;
  /** Where it was written (file:line:col). */
  loc: SourceLocation;
}

/**
 * A command as keepalived runs it: no shell. `argv[0]` is the program; words split
 * on unquoted blanks, quotes ('…' "…") and backslash escapes as keepalived does.
 */
export interface Command {
  /** The command text as configured (one string, quotes of the config removed). */
  text: string;
  /** The words execve() receives. */
  argv: string[];
  /** User to run as (notify scripts: `notify_master "cmd" user [group]`); null = default. */
  user: string | null;
  /** Group to run as; null = the user's group / default. */
  group: string | null;
  /**
   * true when keepalived would hand `text` to /bin/sh -c instead of execve(): a
   * redirect-only check such as "</dev/tcp/127.0.0.1/80".
   */
  viaShell: boolean;
  /** Where it was written (file:line:col). */
  loc: SourceLocation;
}

export interface VrrpScript {
  /** The vrrp_script block's name, as track_script refers to it. */
  name: string;
  /** script "…": what to run (no shell, see Command). */
  command: Command;
  /** interval: seconds between runs (default 1 s). */
  intervalMs: number;
  /** timeout: a run longer than this counts as failed (default: the interval). */
  timeoutMs: number;
  /** weight: priority change, -253..253 (default 0 = FAULT on failure). */
  weight: number;
  /** weight … reverse: apply the weight in the opposite direction. */
  weightReverse: boolean;
  /** rise: consecutive successes to become OK (default 1). */
  rise: number;
  /** fall: consecutive failures to become KO (default 1). */
  fall: number;
  /** init_fail: the script starts in the failed state. */
  initFail: boolean;
  /** user USER [GROUP]: overrides the global script_user; null = default. */
  user: string | null;
  /** The group of `user USER GROUP`. */
  group: string | null;
  /** Where it was written (file:line:col). */
  loc: SourceLocation;
}

export interface TrackFile {
  /** The block's name, as track_file in an instance refers to it. */
  name: string;
  /** file: the path whose integer content is read. */
  path: string;
  /** weight: multiplier of the file's value (default 1). */
  weight: number;
  /** weight … reverse. */
  weightReverse: boolean;
  /** init_file [VALUE] [overwrite]: create the file with VALUE at start (null = don't). */
  init: { value: number; overwrite: boolean } | null;
  /** Where it was written (file:line:col). */
  loc: SourceLocation;
}

/** A tracked object referenced by an instance or sync group, with its effective weight. */
export interface TrackRef {
  /** Interface, script or track_file name. */
  name: string;
  /** Effective weight: the reference's own, else the script's/file's (0 = FAULT when down). */
  weight: number;
  /** Effective reverse flag. */
  reverse: boolean;
  /** Where it was written (file:line:col). */
  loc: SourceLocation;
}

/** A virtual (or excluded) address with its `ip addr add` modifiers. */
export interface Vip {
  /** The address without prefix. */
  address: string;
  /** /len; /32 (IPv4) or /128 (IPv6) when not written. */
  prefixLength: number;
  /** 4 or 6, from the address. */
  family: AddressFamily;
  /** brd <addr> (or resolved from brd + / brd -). */
  brd?: string;
  /** dev <ifname>; absent = the instance's interface. */
  dev?: string;
  /** scope host|link|site|global|nowhere|<number>. */
  scope?: string;
  /** label <name> (IPv4 only). */
  label?: string;
  /** peer <addr>[/len]. */
  peer?: string;
  /** noprefixroute. */
  noprefixroute: boolean;
  /** home (IPv6 mobility home address). */
  home: boolean;
  /**
   * Add the address without duplicate address detection (IFA_F_NODAD). keepalived does so
   * for every IPv6 VIP unless it carries `-nodad` ("not nodad": run DAD); false for IPv4.
   */
  nodad: boolean;
  /** no_track: deleting this address does not make the instance leave MASTER. */
  noTrack: boolean;
  /** Where it was written (file:line:col). */
  loc: SourceLocation;
}

export interface NotifyScripts {
  /** notify_master. */
  master: Command | null;
  /** notify_backup. */
  backup: Command | null;
  /** notify_fault. */
  fault: Command | null;
  /** notify_stop. */
  stop: Command | null;
  /** notify: run on every change with 4 extra args (type, name, state, priority). */
  any: Command | null;
  /** notify_master_rx_lower_pri (instances only). */
  masterRxLowerPri: Command | null;
}

export interface VrrpInstance {
  /** vrrp_instance NAME. */
  name: string;
  /** interface: where adverts are sent and VIPs added (null only for unicast without interface). */
  interface: string | null;
  /** virtual_router_id, 1..255. */
  vrid: number;
  /** IPv4 or IPv6, from the VIPs (else source / peers); 4 when nothing says. */
  family: AddressFamily;
  /** version: resolved from the instance, else global vrrp_version (IPv6 without version: 3). */
  version: 2 | 3;
  /** state MASTER|BACKUP as resolved by keepalived (priority 255 without state: MASTER). */
  initialState: 'MASTER' | 'BACKUP';
  /** priority, 1..255; `state MASTER` without priority means 255, otherwise 100. */
  priority: number;
  /** advert_int in ms (v2: whole seconds; v3: multiples of 10 ms). Default 1000. */
  advertIntervalMs: number;
  /** false with nopreempt (cleared when the initial state is MASTER or priority 255). */
  preempt: boolean;
  /** preempt_delay in ms (0 = none). */
  preemptDelayMs: number;
  /** mcast_src_ip / unicast_src_ip: advert source; null = the interface's primary address. */
  sourceAddress: string | null;
  /** Advert destination for multicast: mcast_dst_ip or the global group; null when unicast. */
  mcastDestination: string | null;
  /** true when unicast_peer lists peers: adverts go to each peer instead of the group. */
  unicast: boolean;
  /** unicast_peer { addr [min_ttl n] [max_ttl n] }. */
  unicastPeers: UnicastPeer[];
  /** unicast_ttl (IPv4 default 255). */
  unicastTtl: number;
  /** check_unicast_src (or implied by min_ttl/max_ttl, or global). */
  checkUnicastSrc: boolean;
  /** unicast_fault_no_peer: FAULT instead of multicast when there are no peers. */
  unicastFaultNoPeer: boolean;
  /** authentication { }: null when none (also when ignored: v3, strict, no password). */
  auth: { type: 'PASS' | 'AH'; password: string } | null;
  /** virtual_ipaddress: sent in adverts; same family as the instance. */
  vips: Vip[];
  /** virtual_ipaddress_excluded: added/removed with the VIPs, not advertised. */
  excludedVips: Vip[];
  /** track_interface: weight 0 = FAULT when down. */
  trackInterfaces: TrackRef[];
  /** track_script, resolved against vrrp_script (weight from the reference or the script). */
  trackScripts: TrackRef[];
  /** track_file, resolved against track_file blocks. */
  trackFiles: TrackRef[];
  /** dont_track_primary: the instance's own interface going down is not a fault. */
  dontTrackPrimary: boolean;
  /** track_src_ip: FAULT when the configured source address disappears. */
  trackSrcIp: boolean;
  /** notify_* scripts of the instance (null when not set). */
  notify: NotifyScripts;
  /** notify_priority_changes (else the sync group's, else the global). */
  notifyPriorityChanges: boolean;
  /** garp_* of the instance, defaulted from the global vrrp_garp_*. */
  garp: GarpConfig;
  /** accept / no_accept: accept packets to the VIPs when not owner (default: !strict). */
  accept: boolean;
  /** use_vmac [name] [mac]: null when not used. */
  vmac: { ifname: string | null; mac: string | null; xmitBase: boolean } | null;
  /** lower_prio_no_advert (default from global; strict: true). */
  lowerPrioNoAdvert: boolean;
  /** higher_prio_send_advert (default from global; strict: false). */
  higherPrioSendAdvert: boolean;
  /** smtp_alert (vipd sends no mail; kept). */
  smtpAlert: boolean;
  /** strict_mode, else global vrrp_strict. */
  strict: boolean;
  /** skip_check_adv_addr, else global: accept adverts whose address list differs. */
  skipCheckAdvAddr: boolean;
  /** down_timer_adverts, else global (default 3). */
  downTimerAdverts: number;
  /** promote_secondaries. */
  promoteSecondaries: boolean;
  /** The vrrp_sync_group this instance belongs to, if any. */
  syncGroup: string | null;
  /** virtual_routes { }: kept as data (one entry per line). */
  virtualRoutes: DataLine[];
  /** virtual_rules { }: kept as data. */
  virtualRules: DataLine[];
  /** Where the block starts. */
  loc: SourceLocation;
  /** Where each keyword of the block was written (first occurrence), e.g. keywordLocs.priority. */
  keywordLocs: Record<string, SourceLocation>;
}

export interface UnicastPeer {
  /** The peer's address, as written. */
  address: string;
  /** min_ttl (default 0). */
  minTtl: number;
  /** max_ttl (default 255). */
  maxTtl: number;
  /** Where it was written (file:line:col). */
  loc: SourceLocation;
}

/** One line of a block kept as data (virtual_routes, virtual_rules). */
export interface DataLine {
  /** The line's words, as written. */
  words: string[];
  /** Where it was written (file:line:col). */
  loc: SourceLocation;
}

export interface SyncGroup {
  /** vrrp_sync_group NAME. */
  name: string;
  /** group { }: names of existing member instances. */
  instances: string[];
  /** track_interface of the group (applies to every member). */
  trackInterfaces: TrackRef[];
  /** track_script of the group, resolved like an instance's. */
  trackScripts: TrackRef[];
  /** track_file of the group, resolved like an instance's. */
  trackFiles: TrackRef[];
  /** notify_master/backup/fault/stop/notify of the group (masterRxLowerPri is always null). */
  notify: NotifyScripts;
  /** smtp_alert. */
  smtpAlert: boolean;
  /** sync_group_tracking_weight: members keep their weighted trackers. */
  trackingWeight: boolean;
  /** notify_priority_changes; null when not set. */
  notifyPriorityChanges: boolean | null;
  /** Where it was written (file:line:col). */
  loc: SourceLocation;
}

export interface IgnoredBlock {
  /** The top-level keyword (virtual_server, static_routes, ...). */
  keyword: string;
  /** Its arguments joined by a space ("192.168.200.100 443"), "" when none. */
  name: string;
  /** Where it was written (file:line:col). */
  loc: SourceLocation;
}
