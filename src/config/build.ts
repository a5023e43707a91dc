/**
 * AST → validated model. Follows keepalived 2.2's parser handlers and
 * vrrp_complete_instance() for defaults and corrections; what keepalived corrects
 * with a message is a warning here, what it would silently get wrong (or refuse) is
 * an error. Message style: the rule and the value ("virtual_router_id must be 1..255,
 * got 300").
 */
import { DiagnosticBag, type SourceLocation } from './diagnostics.js';
import { GLOBAL_HANDLED, GLOBAL_NOT_HANDLED, INSTANCE_NOT_HANDLED, ROOT_NOT_HANDLED, SYNC_GROUP_NOT_HANDLED } from './keywords.js';
import type {
  AddressFamily,
  Command,
  Config,
  DataLine,
  GarpConfig,
  GlobalConfig,
  IgnoredBlock,
  NotifyFifo,
  NotifyScripts,
  SyncGroup,
  TrackFile,
  TrackRef,
  UnicastPeer,
  Vip,
  VrrpInstance,
  VrrpScript,
} from './model.js';
import type { AstNode } from './parser.js';
import {
  canonicalAddress,
  familyOf,
  intToIpv4,
  ipv4ToInt,
  isLinkLocal6,
  isLinkLocalMulticast6,
  isMulticast,
  parseBool,
  parseSecondsUs,
  parseSigned,
  parseUnsigned,
  splitCommand,
} from './values.js';

export interface BuildOptions {
  readonly configId: string;
  /** Default router_id (keepalived uses the host name). */
  readonly hostname: string;
  readonly files: string[];
}

const S = 1000; // ms per second
const DEFAULT_MTU = 1500;

const name = (n: AstNode): string => n.keyword.text;
const at = (n: AstNode): SourceLocation => n.keyword.loc;
const arg = (n: AstNode, i: number): string | undefined => n.args[i]?.text;
const argLoc = (n: AstNode, i: number): SourceLocation => n.args[i]?.loc ?? n.keyword.loc;

/** The statement's text after the keyword, exactly as written (quotes included). */
function restText(n: AstNode): string {
  const first = n.args[0];
  const last = n.args[n.args.length - 1];
  if (first === undefined || last === undefined) return '';
  return first.source.slice(first.start, last.end);
}

function emptyNotify(): NotifyScripts {
  return { master: null, backup: null, fault: null, stop: null, any: null, masterRxLowerPri: null };
}

interface RawRef {
  name: string;
  weight: number | null;
  reverse: boolean | null;
  loc: SourceLocation;
}

interface RawScript {
  script: VrrpScript;
  hasCommand: boolean;
}

interface RawGroup {
  group: SyncGroup;
  members: { name: string; loc: SourceLocation }[];
  refs: { ifs: RawRef[]; scripts: RawRef[]; files: RawRef[] };
  groupSeen: boolean;
}

interface RawInstance {
  name: string;
  loc: SourceLocation;
  keywordLocs: Record<string, SourceLocation>;
  state: 'MASTER' | 'BACKUP' | null;
  iface: string | null;
  vrid: number | null;
  priority: number | null;
  advertUs: number | null;
  version: 2 | 3 | null;
  nopreempt: boolean;
  preemptDelayMs: number;
  src: { address: string; loc: SourceLocation } | null;
  unicastKeyword: boolean;
  mcastDst: { address: string; loc: SourceLocation } | null;
  peers: UnicastPeer[];
  unicastTtl: number | null;
  checkUnicastSrc: boolean;
  unicastFaultNoPeer: boolean;
  authType: 'PASS' | 'AH' | null;
  authPass: string | null;
  authLoc: SourceLocation | null;
  vips: Vip[];
  evips: Vip[];
  trackIfs: RawRef[];
  trackScripts: RawRef[];
  trackFiles: RawRef[];
  notify: NotifyScripts;
  garp: Partial<GarpConfig>;
  accept: boolean | null;
  vmac: { ifname: string | null; mac: string | null; xmitBase: boolean } | null;
  xmitBase: boolean;
  lowerPrioNoAdvert: boolean | null;
  higherPrioSendAdvert: boolean | null;
  smtpAlert: boolean | null;
  strict: boolean | null;
  skipCheckAdvAddr: boolean | null;
  downTimerAdverts: number | null;
  promoteSecondaries: boolean;
  dontTrackPrimary: boolean;
  trackSrcIp: boolean;
  notifyPriorityChanges: boolean | null;
  nativeIpv6: boolean;
  routes: DataLine[];
  rules: DataLine[];
}

class Builder {
  readonly global: GlobalConfig;
  private minGarp = false;
  private readonly garpSet = new Set<keyof GarpConfig>();
  private lowerPrioDelaySet = false;
  private lowerPrioRepeatSet = false;
  readonly scripts: RawScript[] = [];
  readonly trackFiles: TrackFile[] = [];
  private readonly trackFileRemoved = new Set<string>();
  readonly groups: RawGroup[] = [];
  readonly instances: RawInstance[] = [];
  readonly ignored: IgnoredBlock[] = [];
  private readonly ignoredReported = new Set<string>();

  constructor(
    private readonly d: DiagnosticBag,
    private readonly opts: BuildOptions,
  ) {
    this.global = {
      routerId: opts.hostname,
      vrrpVersion: 2,
      mcastGroup4: '224.0.0.18',
      mcastGroup6: 'ff02::12',
      garp: { masterDelayMs: 5 * S, masterRepeat: 5, masterRefreshMs: 0, masterRefreshRepeat: 1, lowerPrioDelayMs: 5 * S, lowerPrioRepeat: 5 },
      garpIntervalMs: 0,
      gnaIntervalMs: 0,
      skipCheckAdvAddr: false,
      strict: false,
      checkUnicastSrc: false,
      lowerPrioNoAdvert: false,
      higherPrioSendAdvert: false,
      downTimerAdverts: 3,
      scriptUser: null,
      enableScriptSecurity: false,
      notifyFifo: null,
      vrrpNotifyFifo: null,
      notifyPriorityChanges: false,
      notificationEmail: [],
      notificationEmailFrom: null,
      smtpServer: null,
      smtpHeloName: null,
      smtpConnectTimeoutMs: 30 * S,
      smtpAlert: null,
      dynamicInterfaces: false,
      loc: null,
    };
  }

  // ---- generic helpers -------------------------------------------------------------

  private err(loc: SourceLocation, msg: string): void {
    this.d.error(loc, msg);
  }

  private warn(loc: SourceLocation, msg: string): void {
    this.d.warning(loc, msg);
  }

  /** A keyword that takes no block: report one if present. */
  private noBlock(n: AstNode): void {
    if (n.children !== null) this.err(n.open ?? at(n), `'${name(n)}' does not take a { } block`);
  }

  /** The block of `keyword [NAME] { ... }`; `named` says whether a name comes first. */
  private needBlock(n: AstNode, named = false): AstNode[] | null {
    if (n.children === null) {
      this.err(at(n), `'${name(n)}' needs a { } block`);
      return null;
    }
    if (!named && n.args.length > 0) this.warn(argLoc(n, 0), `'${name(n)}' takes no value before its block; '${restText(n)}' ignored`);
    return n.children;
  }

  /** The single value of `keyword VALUE`; reports a missing one. */
  private value(n: AstNode, what = 'a value'): string | null {
    this.noBlock(n);
    const v = arg(n, 0);
    if (v === undefined) {
      this.err(at(n), `'${name(n)}' needs ${what}`);
      return null;
    }
    if (n.args.length > 1) this.warn(argLoc(n, 1), `'${name(n)}' takes one value; '${n.args.slice(1).map((t) => t.text).join(' ')}' ignored`);
    return v;
  }

  private flag(n: AstNode): void {
    this.noBlock(n);
    if (n.args.length > 0) this.warn(argLoc(n, 0), `'${name(n)}' takes no value; '${restText(n)}' ignored`);
  }

  /** `keyword [BOOL]`: no value means true (keepalived). */
  private optBool(n: AstNode): boolean | null {
    this.noBlock(n);
    const v = arg(n, 0);
    if (v === undefined) return true;
    const b = parseBool(v);
    if (b === null) this.err(argLoc(n, 0), `'${name(n)}' must be on|off|true|false|yes|no, got '${v}'`);
    return b;
  }

  /** Integer in [min, max]; malformed or out-of-range values are errors. */
  private int(n: AstNode, min: number, max: number, signed = false): number | null {
    const v = this.value(n, 'a number');
    if (v === null) return null;
    const x = signed ? parseSigned(v) : parseUnsigned(v);
    if (x === null || x < min || x > max) {
      this.err(argLoc(n, 0), `${name(n)} must be ${min}..${max}, got '${v}'`);
      return null;
    }
    return x;
  }

  /** Whole seconds → ms; `zeroTo` replaces 0 as keepalived does (with a warning). */
  private seconds(n: AstNode, zeroTo?: number): number | null {
    const v = this.value(n, 'a number of seconds');
    if (v === null) return null;
    const x = parseUnsigned(v);
    if (x === null) {
      this.err(argLoc(n, 0), `${name(n)} must be a whole number of seconds, got '${v}'`);
      return null;
    }
    if (x === 0 && zeroTo !== undefined) {
      this.warn(argLoc(n, 0), `${name(n)} must be greater than 0; using ${zeroTo}`);
      return zeroTo * S;
    }
    return x * S;
  }

  private count(n: AstNode): number | null {
    const v = this.value(n, 'a number');
    if (v === null) return null;
    const x = parseUnsigned(v);
    if (x === null) {
      this.err(argLoc(n, 0), `${name(n)} must be a whole number, got '${v}'`);
      return null;
    }
    if (x === 0) {
      this.warn(argLoc(n, 0), `${name(n)} must be greater than 0; using 1`);
      return 1;
    }
    return x;
  }

  private decimalMs(n: AstNode): number | null {
    const v = this.value(n, 'a number of seconds');
    if (v === null) return null;
    const p = parseSecondsUs(v);
    if (p === null) {
      this.err(argLoc(n, 0), `${name(n)} must be a number of seconds, got '${v}'`);
      return null;
    }
    return Math.round(p.us / 1000);
  }

  private unknown(n: AstNode, where: string): void {
    this.warn(at(n), `unknown keyword '${name(n)}' in ${where}; ignored`);
  }

  private notHandled(n: AstNode, where: string): void {
    this.warn(at(n), `'${name(n)}'${where ? ` in ${where}` : ''} is not handled by vipd; ignored`);
  }

  /**
   * A command as keepalived parses it: the whole line re-read with quotes and escapes;
   * the first word is the command (itself split again into argv), then [user [group]].
   */
  private command(n: AstNode, withUser: boolean): Command | null {
    this.noBlock(n);
    const rest = restText(n);
    const words = splitCommand(rest);
    if (words === null) {
      this.err(argLoc(n, 0), `${name(n)}: unterminated quote in '${rest}'`);
      return null;
    }
    const text = words[0];
    if (text === undefined || text === '') {
      this.err(at(n), `'${name(n)}' needs a command`);
      return null;
    }
    const argv = splitCommand(text);
    if (argv === null || argv.length === 0) {
      this.err(argLoc(n, 0), `${name(n)}: cannot split '${text}' into words (unterminated quote?)`);
      return null;
    }
    let user: string | null = null;
    let group: string | null = null;
    if (withUser) {
      user = words[1] ?? null;
      group = words[2] ?? null;
      if (words.length > 3) this.warn(argLoc(n, 3), `${name(n)}: only "command" [user [group]] is read; '${words.slice(3).join(' ')}' ignored`);
    } else if (words.length > 1) {
      this.warn(
        argLoc(n, 1),
        `${name(n)}: only '${text}' is run, '${words.slice(1).join(' ')}' is ignored (keepalived reads one word); quote the whole command: ${name(n)} "${rest.replace(/"/g, "'")}"`,
      );
    }
    return { text, argv, user, group, viaShell: /^<\s*\//.test(argv[0] ?? ''), loc: argLoc(n, 0) };
  }

  // ---- top level ---------------------------------------------------------------------

  build(ast: readonly AstNode[]): void {
    for (const n of ast) {
      const k = name(n);
      switch (k) {
        case 'global_defs': {
          const kids = this.needBlock(n);
          if (this.global.loc === null) this.global.loc = at(n);
          if (kids) this.globalDefs(kids);
          break;
        }
        case 'vrrp_script':
          this.vrrpScript(n);
          break;
        case 'track_file':
        case 'vrrp_track_file':
          if (k === 'vrrp_track_file') this.warn(at(n), "'vrrp_track_file' is deprecated; use 'track_file'");
          this.trackFile(n);
          break;
        case 'vrrp_sync_group':
          this.syncGroup(n);
          break;
        case 'vrrp_instance':
          this.instance(n);
          break;
        default:
          if (ROOT_NOT_HANDLED.has(k)) {
            this.ignored.push({ keyword: k, name: n.args.map((t) => t.text).join(' '), loc: at(n) });
            if (!this.ignoredReported.has(k)) {
              this.ignoredReported.add(k);
              this.warn(at(n), `'${k}' is not handled by vipd (vipd runs the VRRP part of keepalived.conf); skipped${n.children !== null ? ' with its block' : ''}`);
            }
          } else {
            this.warn(at(n), `unknown keyword '${k}' at top level; ignored${n.children !== null ? ' with its block' : ''}`);
          }
      }
    }
    if (this.minGarp) {
      const g = this.global.garp;
      if (!this.garpSet.has('masterRepeat')) g.masterRepeat = 1;
      if (!this.garpSet.has('masterRefreshMs')) g.masterRefreshMs = 0;
      if (!this.garpSet.has('masterRefreshRepeat')) g.masterRefreshRepeat = 0;
      if (!this.garpSet.has('masterDelayMs')) g.masterDelayMs = 0;
    }
    if (!this.lowerPrioDelaySet) this.global.garp.lowerPrioDelayMs = this.global.garp.masterDelayMs;
    if (!this.lowerPrioRepeatSet) this.global.garp.lowerPrioRepeat = this.global.garp.masterRepeat;
  }

  private globalDefs(kids: AstNode[]): void {
    const g = this.global;
    for (const n of kids) {
      const k = name(n);
      const setGarp = (key: keyof GarpConfig, v: number | null): void => {
        if (v === null) return;
        g.garp[key] = v;
        this.garpSet.add(key);
      };
      switch (k) {
        case 'router_id': {
          const v = this.value(n, 'a name');
          if (v !== null) g.routerId = v;
          break;
        }
        case 'vrrp_version': {
          const v = this.int(n, 2, 3);
          if (v === 2 || v === 3) g.vrrpVersion = v;
          break;
        }
        case 'vrrp_mcast_group4':
        case 'vrrp_mcast_group6': {
          const v = this.value(n, 'an address');
          if (v === null) break;
          const fam = k === 'vrrp_mcast_group4' ? 4 : 6;
          if (familyOf(v) !== fam || !isMulticast(v)) {
            this.err(argLoc(n, 0), `${k} must be an IPv${fam} multicast address, got '${v}'`);
            break;
          }
          if (fam === 6 && !isLinkLocalMulticast6(v)) this.warn(argLoc(n, 0), `${k} ${v} should be a link-local multicast address (ff02::/16)`);
          if (fam === 4) g.mcastGroup4 = v;
          else g.mcastGroup6 = v;
          break;
        }
        case 'vrrp_garp_master_delay':
          setGarp('masterDelayMs', this.seconds(n));
          break;
        case 'vrrp_garp_master_repeat':
          setGarp('masterRepeat', this.count(n));
          break;
        case 'vrrp_garp_master_refresh':
          setGarp('masterRefreshMs', this.seconds(n));
          break;
        case 'vrrp_garp_master_refresh_repeat':
          setGarp('masterRefreshRepeat', this.count(n));
          break;
        case 'vrrp_garp_lower_prio_delay': {
          const v = this.seconds(n);
          if (v !== null) {
            g.garp.lowerPrioDelayMs = v;
            this.lowerPrioDelaySet = true;
          }
          break;
        }
        case 'vrrp_garp_lower_prio_repeat': {
          const v = this.int(n, 0, 2 ** 31 - 1);
          if (v !== null) {
            g.garp.lowerPrioRepeat = v;
            this.lowerPrioRepeatSet = true;
          }
          break;
        }
        case 'vrrp_garp_interval':
        case 'vrrp_gna_interval': {
          const v = this.decimalMs(n);
          if (v === null) break;
          if (v >= S) this.warn(argLoc(n, 0), `${k} is very large: ${v / S} s between packets`);
          if (k === 'vrrp_garp_interval') g.garpIntervalMs = v;
          else g.gnaIntervalMs = v;
          break;
        }
        case 'vrrp_min_garp': {
          const v = this.optBool(n);
          if (v === true) this.minGarp = true;
          break;
        }
        case 'vrrp_skip_check_adv_addr':
          this.flag(n);
          g.skipCheckAdvAddr = true;
          break;
        case 'vrrp_strict':
          this.flag(n);
          g.strict = true;
          break;
        case 'vrrp_check_unicast_src':
          this.flag(n);
          g.checkUnicastSrc = true;
          break;
        case 'vrrp_lower_prio_no_advert': {
          const v = this.optBool(n);
          if (v !== null) g.lowerPrioNoAdvert = v;
          break;
        }
        case 'vrrp_higher_prio_send_advert': {
          const v = this.optBool(n);
          if (v !== null) g.higherPrioSendAdvert = v;
          break;
        }
        case 'vrrp_down_timer_adverts': {
          const v = this.int(n, 1, 100);
          if (v !== null) g.downTimerAdverts = v;
          break;
        }
        case 'vrrp_notify_priority_changes': {
          const v = this.optBool(n);
          if (v !== null) g.notifyPriorityChanges = v;
          break;
        }
        case 'script_user': {
          this.noBlock(n);
          const user = arg(n, 0);
          if (user === undefined) this.err(at(n), "'script_user' needs a user name");
          else g.scriptUser = { user, group: arg(n, 1) ?? null };
          break;
        }
        case 'enable_script_security':
          this.flag(n);
          g.enableScriptSecurity = true;
          break;
        case 'notify_fifo':
        case 'vrrp_notify_fifo': {
          this.noBlock(n);
          const p = arg(n, 0);
          if (p === undefined) {
            this.err(at(n), `'${k}' needs a FIFO path`);
            break;
          }
          const key = k === 'notify_fifo' ? 'notifyFifo' : 'vrrpNotifyFifo';
          const old = g[key];
          if (old !== null && old.path !== '') {
            this.warn(at(n), `${k} already set to ${old.path}; '${p}' ignored`);
            break;
          }
          g[key] = { path: p, script: old?.script ?? null, user: arg(n, 1) ?? null, group: arg(n, 2) ?? null, loc: at(n) };
          break;
        }
        case 'notify_fifo_script':
        case 'vrrp_notify_fifo_script': {
          const cmd = this.command(n, true);
          if (cmd === null) break;
          const key = k === 'notify_fifo_script' ? 'notifyFifo' : 'vrrpNotifyFifo';
          const old: NotifyFifo | null = g[key];
          if (old?.script) {
            this.warn(at(n), `${k} already set; '${cmd.text}' ignored`);
            break;
          }
          g[key] = old ? { ...old, script: cmd } : { path: '', script: cmd, user: null, group: null, loc: at(n) };
          break;
        }
        case 'notification_email': {
          const kids2 = this.needBlock(n);
          if (kids2 === null) break;
          const addrs = kids2.flatMap((c) => [c.keyword.text, ...c.args.map((t) => t.text)]);
          if (addrs.length === 0) this.warn(at(n), 'empty notification_email block');
          g.notificationEmail.push(...addrs);
          break;
        }
        case 'notification_email_from':
          g.notificationEmailFrom = this.value(n, 'an address') ?? g.notificationEmailFrom;
          break;
        case 'smtp_server': {
          this.noBlock(n);
          const host = arg(n, 0);
          if (host === undefined) {
            this.err(at(n), "'smtp_server' needs a host");
            break;
          }
          const portText = arg(n, 1);
          const port = portText === undefined ? 25 : parseUnsigned(portText);
          if (port === null || port < 1 || port > 65535) {
            this.err(argLoc(n, 1), `smtp_server port must be 1..65535, got '${portText ?? ''}'`);
            break;
          }
          g.smtpServer = { host, port };
          break;
        }
        case 'smtp_helo_name':
          g.smtpHeloName = this.value(n, 'a name') ?? g.smtpHeloName;
          break;
        case 'smtp_connect_timeout': {
          const v = this.seconds(n, 1);
          if (v !== null) g.smtpConnectTimeoutMs = v;
          break;
        }
        case 'smtp_alert':
        case 'smtp_alert_vrrp': {
          const v = this.optBool(n);
          if (v !== null && (k === 'smtp_alert_vrrp' || g.smtpAlert === null)) g.smtpAlert = v;
          break;
        }
        case 'dynamic_interfaces': {
          this.noBlock(n);
          const v = arg(n, 0);
          if (v !== undefined && v !== 'allow_if_changes') this.warn(argLoc(n, 0), `unknown dynamic_interfaces option '${v}'`);
          g.dynamicInterfaces = true;
          break;
        }
        default:
          if (GLOBAL_NOT_HANDLED.has(k)) this.notHandled(n, 'global_defs');
          else if (!GLOBAL_HANDLED.has(k)) this.unknown(n, 'global_defs');
      }
    }
    for (const key of ['notifyFifo', 'vrrpNotifyFifo'] as const) {
      const f = g[key];
      if (f !== null && f.path === '') {
        this.warn(f.loc, `${key === 'notifyFifo' ? 'notify_fifo_script' : 'vrrp_notify_fifo_script'} without ${key === 'notifyFifo' ? 'notify_fifo' : 'vrrp_notify_fifo'}; ignored`);
        g[key] = null;
      }
    }
  }

  // ---- vrrp_script ------------------------------------------------------------------

  private blockName(n: AstNode): string | null {
    const v = arg(n, 0);
    if (v === undefined) {
      this.err(at(n), `'${name(n)}' needs a name`);
      return null;
    }
    if (n.args.length > 1) this.warn(argLoc(n, 1), `${name(n)} ${v}: '${n.args.slice(1).map((t) => t.text).join(' ')}' after the name ignored`);
    return v;
  }

  private vrrpScript(n: AstNode): void {
    const sname = this.blockName(n);
    const kids = this.needBlock(n, true);
    if (sname === null || kids === null) return;
    const s: VrrpScript = {
      name: sname,
      command: { text: '', argv: [], user: null, group: null, viaShell: false, loc: at(n) },
      intervalMs: 1 * S,
      timeoutMs: 0,
      weight: 0,
      weightReverse: false,
      rise: 1,
      fall: 1,
      initFail: false,
      user: null,
      group: null,
      loc: at(n),
    };
    let hasCommand = false;
    let timeoutSet = false;
    for (const c of kids) {
      const k = name(c);
      switch (k) {
        case 'script': {
          const cmd = this.command(c, false);
          if (cmd !== null) {
            if (hasCommand) this.warn(at(c), `vrrp_script ${sname}: script already set; '${cmd.text}' replaces it`);
            s.command = cmd;
            hasCommand = true;
          }
          break;
        }
        case 'interval': {
          const v = this.seconds(c, 1);
          if (v !== null) s.intervalMs = v;
          break;
        }
        case 'timeout': {
          const v = this.seconds(c, 1);
          if (v !== null) {
            s.timeoutMs = v;
            timeoutSet = true;
          }
          break;
        }
        case 'weight': {
          this.noBlock(c);
          const v = arg(c, 0);
          const w = v === undefined ? null : parseSigned(v);
          if (w === null || w < -253 || w > 253) {
            this.err(argLoc(c, 0), `vrrp_script ${sname}: weight must be -253..253, got '${v ?? ''}'`);
            break;
          }
          s.weight = w;
          const opt = arg(c, 1);
          if (opt === 'reverse') s.weightReverse = true;
          else if (opt !== undefined) this.warn(argLoc(c, 1), `vrrp_script ${sname}: unknown weight option '${opt}' (only 'reverse')`);
          break;
        }
        case 'rise':
        case 'fall': {
          const v = this.value(c, 'a number');
          if (v === null) break;
          const x = parseUnsigned(v);
          if (x === null) {
            this.err(argLoc(c, 0), `vrrp_script ${sname}: ${k} must be a whole number, got '${v}'`);
          } else if (x < 1) {
            this.warn(argLoc(c, 0), `vrrp_script ${sname}: ${k} must be at least 1, got ${x}; using 1`);
            s[k] = 1;
          } else {
            s[k] = x;
          }
          break;
        }
        case 'user': {
          this.noBlock(c);
          const u = arg(c, 0);
          if (u === undefined) this.err(at(c), `vrrp_script ${sname}: 'user' needs a user name`);
          else {
            s.user = u;
            s.group = arg(c, 1) ?? null;
          }
          break;
        }
        case 'init_fail':
          this.flag(c);
          s.initFail = true;
          break;
        default:
          this.unknown(c, `vrrp_script ${sname}`);
      }
    }
    if (!timeoutSet) s.timeoutMs = s.intervalMs; // keepalived: no timeout means the interval
    if (!hasCommand) this.warn(at(n), `vrrp_script ${sname} has no 'script' line; removed (as keepalived does)`);
    if (this.scripts.some((x) => x.script.name === sname)) {
      this.warn(at(n), `vrrp_script ${sname} is defined twice; the first one is used`);
      return;
    }
    this.scripts.push({ script: s, hasCommand });
  }

  // ---- track_file -------------------------------------------------------------------

  private trackFile(n: AstNode): void {
    const fname = this.blockName(n);
    const kids = this.needBlock(n, true);
    if (fname === null || kids === null) return;
    const f: TrackFile = { name: fname, path: '', weight: 1, weightReverse: false, init: null, loc: at(n) };
    let weightSet = false;
    for (const c of kids) {
      const k = name(c);
      switch (k) {
        case 'file': {
          const v = this.value(c, 'a file path');
          if (v === null) break;
          if (f.path !== '') this.warn(at(c), `track_file ${fname}: file already set to ${f.path}; '${v}' ignored`);
          else f.path = v;
          break;
        }
        case 'weight': {
          this.noBlock(c);
          const v = arg(c, 0);
          const w = v === undefined ? null : parseSigned(v);
          if (w === null || w < -254 || w > 254) {
            this.err(argLoc(c, 0), `track_file ${fname}: weight must be -254..254, got '${v ?? ''}'`);
            break;
          }
          if (weightSet) this.warn(at(c), `track_file ${fname}: weight already set; '${v ?? ''}' ignored`);
          else {
            f.weight = w;
            weightSet = true;
          }
          const opt = arg(c, 1);
          if (opt === 'reverse') f.weightReverse = true;
          else if (opt !== undefined) this.warn(argLoc(c, 1), `track_file ${fname}: unknown weight option '${opt}'`);
          break;
        }
        case 'init_file': {
          this.noBlock(c);
          const init = { value: 0, overwrite: false };
          c.args.forEach((t, i) => {
            if (t.text === 'overwrite') init.overwrite = true;
            else {
              const v = parseSigned(t.text);
              if (v === null) this.err(argLoc(c, i), `track_file ${fname}: init_file value must be a number or 'overwrite', got '${t.text}'`);
              else {
                if (v < -254 || v > 254) this.warn(argLoc(c, i), `track_file ${fname}: init_file value ${v} is outside the sensible range -254..254`);
                init.value = v;
              }
            }
          });
          f.init = init;
          break;
        }
        default:
          this.unknown(c, `track_file ${fname}`);
      }
    }
    if (f.path === '') {
      this.warn(at(n), `track_file ${fname} has no 'file' line; removed (as keepalived does)`);
      this.trackFileRemoved.add(fname);
      return;
    }
    if (this.trackFiles.some((x) => x.name === fname)) {
      this.warn(at(n), `track_file ${fname} is defined twice; the first one is used`);
      return;
    }
    this.trackFiles.push(f);
  }

  // ---- tracker references -------------------------------------------------------------

  /** Lines of track_interface / track_script / track_file blocks: NAME [weight W [reverse|noreverse]]. */
  private refs(n: AstNode, what: string, min: number, max: number): RawRef[] {
    const kids = this.needBlock(n);
    if (kids === null) return [];
    const out: RawRef[] = [];
    for (const c of kids) {
      this.noBlock(c);
      const ref: RawRef = { name: c.keyword.text, weight: null, reverse: null, loc: at(c) };
      const opt = arg(c, 0);
      if (opt !== undefined) {
        if (opt !== 'weight') {
          this.warn(argLoc(c, 0), `${what} ${ref.name}: unknown option '${opt}' (expected 'weight N'); reference ignored`);
          continue;
        }
        const v = arg(c, 1);
        let w = v === undefined ? null : parseSigned(v);
        // keepalived reads track_interface/track_script weights as -254..254 and turns ±254 into ±253.
        const slack = what === 'track_file' ? 0 : 1;
        if (w === null || w < min - slack || w > max + slack) {
          this.err(argLoc(c, 1), `${what} ${ref.name}: weight must be ${min}..${max}, got '${v ?? ''}'`);
          continue;
        }
        if (slack === 1 && Math.abs(w) === max + 1) {
          this.warn(argLoc(c, 1), `${what} ${ref.name}: weight cannot be ${w}; using ${w < 0 ? min : max}`);
          w = w < 0 ? min : max;
        }
        ref.weight = w;
        const rev = arg(c, 2);
        if (rev === 'reverse') ref.reverse = true;
        else if (rev === 'noreverse' || rev === 'no_reverse') ref.reverse = false;
        else if (rev !== undefined) this.warn(argLoc(c, 2), `${what} ${ref.name}: unknown weight option '${rev}'`);
      }
      if (out.some((r) => r.name === ref.name)) {
        this.warn(at(c), `${what} ${ref.name} listed twice; the second is ignored`);
        continue;
      }
      out.push(ref);
    }
    return out;
  }

  // ---- vrrp_sync_group ------------------------------------------------------------------

  private notifyScript(n: AstNode, notify: NotifyScripts, key: keyof NotifyScripts, owner: string): void {
    const cmd = this.command(n, true);
    if (cmd === null) return;
    if (notify[key] !== null) {
      this.warn(at(n), `${owner}: ${name(n)} already set; '${cmd.text}' ignored`);
      return;
    }
    notify[key] = cmd;
  }

  private notifyKey(k: string): keyof NotifyScripts | null {
    switch (k) {
      case 'notify_master':
        return 'master';
      case 'notify_backup':
        return 'backup';
      case 'notify_fault':
        return 'fault';
      case 'notify_stop':
        return 'stop';
      case 'notify':
        return 'any';
      default:
        return null;
    }
  }

  private syncGroup(n: AstNode): void {
    const gname = this.blockName(n);
    const kids = this.needBlock(n, true);
    if (gname === null || kids === null) return;
    if (this.groups.some((g) => g.group.name === gname)) {
      this.warn(at(n), `vrrp_sync_group ${gname} is defined twice; the second is ignored`);
      return;
    }
    const raw: RawGroup = {
      group: {
        name: gname,
        instances: [],
        trackInterfaces: [],
        trackScripts: [],
        trackFiles: [],
        notify: emptyNotify(),
        smtpAlert: false,
        trackingWeight: false,
        notifyPriorityChanges: null,
        loc: at(n),
      },
      members: [],
      refs: { ifs: [], scripts: [], files: [] },
      groupSeen: false,
    };
    const owner = `vrrp_sync_group ${gname}`;
    const strays: AstNode[] = [];
    for (const c of kids) {
      const k = name(c);
      const nk = this.notifyKey(k);
      if (nk !== null) {
        this.notifyScript(c, raw.group.notify, nk, owner);
        continue;
      }
      switch (k) {
        case 'group': {
          const members = this.needBlock(c);
          if (members === null) break;
          if (raw.groupSeen) {
            this.warn(at(c), `${owner}: group already listed; this one is ignored`);
            break;
          }
          raw.groupSeen = true;
          for (const m of members) {
            for (const t of [m.keyword, ...m.args]) raw.members.push({ name: t.text, loc: t.loc });
          }
          if (raw.members.length === 0) this.warn(at(c), `${owner}: empty group block`);
          break;
        }
        case 'track_interface':
          raw.refs.ifs.push(...this.refs(c, 'track_interface', -253, 253));
          break;
        case 'track_script':
          raw.refs.scripts.push(...this.refs(c, 'track_script', -253, 253));
          break;
        case 'track_file':
          raw.refs.files.push(...this.refs(c, 'track_file', -254, 254));
          break;
        case 'smtp_alert':
          raw.group.smtpAlert = this.optBool(c) ?? raw.group.smtpAlert;
          break;
        case 'sync_group_tracking_weight':
          this.flag(c);
          raw.group.trackingWeight = true;
          break;
        case 'global_tracking':
          this.flag(c);
          this.warn(at(c), `${owner}: global_tracking is deprecated; use track_interface/track_script/track_file on the sync group`);
          raw.group.trackingWeight = true;
          break;
        case 'notify_priority_changes':
          raw.group.notifyPriorityChanges = this.optBool(c);
          break;
        default:
          if (SYNC_GROUP_NOT_HANDLED.has(k)) this.notHandled(c, owner);
          else strays.push(c);
      }
    }
    // Old configs list members directly in the block; keepalived reports them as unknown keywords.
    for (const c of strays) {
      this.warn(at(c), `unknown keyword '${name(c)}' in ${owner}; ignored (member instances go inside 'group { ... }')`);
    }
    this.groups.push(raw);
  }

  // ---- vrrp_instance ---------------------------------------------------------------------

  private address(n: AstNode, i: number, what: string): { address: string; family: AddressFamily } | null {
    const v = arg(n, i);
    if (v === undefined) {
      this.err(at(n), `'${name(n)}' needs an address`);
      return null;
    }
    const fam = familyOf(v);
    if (fam === null) {
      this.err(argLoc(n, i), `${what} must be an IPv4 or IPv6 address, got '${v}'`);
      return null;
    }
    return { address: v, family: fam };
  }

  /** One line of virtual_ipaddress(_excluded): ADDR[/LEN] [brd X] [dev X] [scope X] [label X] [peer X] [flags]. */
  private vip(c: AstNode, owner: string): Vip | null {
    this.noBlock(c);
    const spec = c.keyword.text;
    const slash = spec.indexOf('/');
    const addr = slash >= 0 ? spec.slice(0, slash) : spec;
    const family = familyOf(addr);
    if (family === null) {
      this.err(at(c), `${owner}: '${spec}' is not an IPv4 or IPv6 address`);
      return null;
    }
    const maxLen = family === 4 ? 32 : 128;
    let prefixLength = maxLen;
    if (slash >= 0) {
      const len = parseUnsigned(spec.slice(slash + 1));
      if (len === null || len > maxLen) {
        this.err(at(c), `${owner}: prefix length of ${spec} must be 0..${maxLen}, got '${spec.slice(slash + 1)}'`);
        return null;
      }
      prefixLength = len;
    }
    // keepalived (vrrp_ipaddress.c) adds IPv6 VIPs with IFA_F_NODAD unless `-nodad` asks for DAD.
    const vip: Vip = { address: addr, prefixLength, family, noprefixroute: false, home: false, nodad: family === 6, noTrack: false, loc: at(c) };
    let brdSign: '+' | '-' | null = null;
    const words = c.args;
    for (let i = 0; i < words.length; i++) {
      const w = words[i]?.text ?? '';
      const needValue = (): string | null => {
        const v = words[i + 1]?.text;
        if (v === undefined) {
          this.err(words[i]?.loc ?? at(c), `${owner}: '${w}' needs a value for ${spec}`);
          return null;
        }
        i++;
        return v;
      };
      switch (w) {
        case 'dev': {
          const v = needValue();
          if (v === null) return null;
          if (vip.dev !== undefined) {
            this.err(words[i - 1]?.loc ?? at(c), `${owner}: dev given twice for ${spec}`);
            return null;
          }
          vip.dev = v;
          break;
        }
        case 'scope': {
          const v = needValue();
          if (v === null) return null;
          const n = parseUnsigned(v);
          if (['host', 'link', 'site', 'global', 'nowhere', 'universe'].includes(v) || (n !== null && n <= 255)) vip.scope = v;
          else this.warn(words[i]?.loc ?? at(c), `${owner}: invalid scope '${v}' for ${spec}; ignored`);
          break;
        }
        case 'brd':
        case 'broadcast': {
          const v = needValue();
          if (v === null) return null;
          if (family === 6) {
            this.err(words[i]?.loc ?? at(c), `${owner}: an IPv6 address has no broadcast (${spec} ${w} ${v})`);
            return null;
          }
          if (v === '+' || v === '-') brdSign = v;
          else if (familyOf(v) !== 4) {
            this.err(words[i]?.loc ?? at(c), `${owner}: broadcast of ${spec} must be an IPv4 address, '+' or '-', got '${v}'`);
            return null;
          } else vip.brd = v;
          break;
        }
        case 'label': {
          const v = needValue();
          if (v === null) return null;
          if (v.length >= 16) {
            this.err(words[i]?.loc ?? at(c), `${owner}: label '${v}' is longer than 15 characters`);
            return null;
          }
          if (family === 6) this.warn(words[i]?.loc ?? at(c), `${owner}: IPv6 addresses have no label; '${v}' ignored`);
          else vip.label = v;
          break;
        }
        case 'peer': {
          const v = needValue();
          if (v === null) return null;
          const ps = v.indexOf('/');
          const pa = ps >= 0 ? v.slice(0, ps) : v;
          if (familyOf(pa) !== family) {
            this.warn(words[i]?.loc ?? at(c), `${owner}: peer '${v}' of ${spec} is not an IPv${family} address; ignored`);
            break;
          }
          if (slash >= 0 && prefixLength !== maxLen) this.warn(at(c), `${owner}: a prefix on ${spec} is ignored when a peer is given`);
          vip.peer = v;
          if (ps >= 0) {
            const pl = parseUnsigned(v.slice(ps + 1));
            if (pl !== null && pl <= maxLen) vip.prefixLength = pl;
          } else vip.prefixLength = maxLen;
          break;
        }
        case 'home':
          vip.home = true;
          break;
        case '-nodad':
          vip.nodad = false;
          break;
        case 'nodad':
          vip.nodad = family === 6;
          break;
        case 'noprefixroute':
          vip.noprefixroute = true;
          break;
        case 'no_track':
          vip.noTrack = true;
          break;
        case 'mngtmpaddr':
        case 'autojoin':
        case 'use_vmac':
          this.warn(words[i]?.loc ?? at(c), `${owner}: address option '${w}' is not handled by vipd; ignored`);
          break;
        case 'preferred_lft':
          if (needValue() === null) return null;
          this.warn(words[i - 1]?.loc ?? at(c), `${owner}: address option 'preferred_lft' is not handled by vipd; ignored`);
          break;
        default:
          this.warn(words[i]?.loc ?? at(c), `${owner}: unknown option '${w}' for address ${spec}; ignored`);
      }
    }
    if (brdSign !== null) {
      if (vip.peer !== undefined) this.warn(at(c), `${owner}: broadcast and peer cannot both be given for ${spec}; broadcast ignored`);
      else if (prefixLength > 30) this.warn(at(c), `${owner}: prefix /${prefixLength} of ${spec} is too long for a broadcast address; ignored`);
      else {
        const host = 2 ** (32 - prefixLength) - 1;
        const base = ipv4ToInt(addr) - (ipv4ToInt(addr) % (host + 1));
        vip.brd = intToIpv4(brdSign === '+' ? base + host : base);
      }
    } else if (vip.brd !== undefined && vip.peer !== undefined) {
      this.warn(at(c), `${owner}: broadcast and peer cannot both be given for ${spec}; broadcast ignored`);
      delete vip.brd;
    }
    return vip;
  }

  private instance(n: AstNode): void {
    const iname = this.blockName(n);
    const kids = this.needBlock(n, true);
    if (iname === null || kids === null) return;
    if (this.instances.some((x) => x.name === iname)) {
      const first = this.instances.find((x) => x.name === iname);
      this.err(argLoc(n, 0), `duplicate vrrp_instance name '${iname}' (first defined at ${first?.loc.file}:${first?.loc.line})`);
      return;
    }
    const r: RawInstance = {
      name: iname,
      loc: at(n),
      keywordLocs: {},
      state: null,
      iface: null,
      vrid: null,
      priority: null,
      advertUs: null,
      version: null,
      nopreempt: false,
      preemptDelayMs: 0,
      src: null,
      unicastKeyword: false,
      mcastDst: null,
      peers: [],
      unicastTtl: null,
      checkUnicastSrc: false,
      unicastFaultNoPeer: false,
      authType: null,
      authPass: null,
      authLoc: null,
      vips: [],
      evips: [],
      trackIfs: [],
      trackScripts: [],
      trackFiles: [],
      notify: emptyNotify(),
      garp: {},
      accept: null,
      vmac: null,
      xmitBase: false,
      lowerPrioNoAdvert: null,
      higherPrioSendAdvert: null,
      smtpAlert: null,
      strict: null,
      skipCheckAdvAddr: null,
      downTimerAdverts: null,
      promoteSecondaries: false,
      dontTrackPrimary: false,
      trackSrcIp: false,
      notifyPriorityChanges: null,
      nativeIpv6: false,
      routes: [],
      rules: [],
    };
    const owner = `vrrp_instance ${iname}`;
    const setGarp = (key: keyof GarpConfig, v: number | null): void => {
      if (v !== null) r.garp[key] = v;
    };
    for (const c of kids) {
      const k = name(c);
      r.keywordLocs[k] ??= at(c);
      const nk = this.notifyKey(k) ?? (k === 'notify_master_rx_lower_pri' ? 'masterRxLowerPri' : null);
      if (nk !== null) {
        this.notifyScript(c, r.notify, nk, owner);
        continue;
      }
      switch (k) {
        case 'state': {
          const v = this.value(c, 'MASTER or BACKUP');
          if (v === 'MASTER') r.state = 'MASTER';
          else if (v === 'BACKUP') {
            if (r.state === 'MASTER') this.warn(argLoc(c, 0), `${owner}: state already set to MASTER; BACKUP ignored (as keepalived does)`);
            else r.state = 'BACKUP';
          } else if (v !== null) {
            this.err(argLoc(c, 0), `${owner}: state must be MASTER or BACKUP, got '${v}'`);
          }
          break;
        }
        case 'interface': {
          const v = this.value(c, 'an interface name');
          if (v === null) break;
          if (v.length >= 16) this.err(argLoc(c, 0), `${owner}: interface name '${v}' is longer than 15 characters`);
          else r.iface = v;
          break;
        }
        case 'virtual_router_id':
          r.vrid = this.int(c, 1, 255) ?? r.vrid;
          break;
        case 'priority':
          r.priority = this.int(c, 1, 255) ?? r.priority;
          break;
        case 'advert_int': {
          const v = this.value(c, 'a number of seconds');
          if (v === null) break;
          const p = parseSecondsUs(v);
          if (p === null || p.us < 10_000 || p.us > 255_000_000) {
            this.err(argLoc(c, 0), `advert_int must be 0.01..255 seconds, got '${v}'`);
            break;
          }
          if (p.tooPrecise) this.warn(argLoc(c, 0), `advert_int '${v}' has more than 6 decimal places; rounded`);
          r.advertUs = p.us;
          break;
        }
        case 'version': {
          const v = this.int(c, 2, 3);
          if (v === 2 || v === 3) r.version = v;
          break;
        }
        case 'native_ipv6':
          this.flag(c);
          r.nativeIpv6 = true;
          this.warn(at(c), `${owner}: native_ipv6 is deprecated; the addresses decide the family`);
          break;
        case 'nopreempt':
          this.flag(c);
          r.nopreempt = true;
          break;
        case 'preempt':
          this.flag(c);
          r.nopreempt = false;
          break;
        case 'preempt_delay': {
          const v = this.value(c, 'a number of seconds');
          if (v === null) break;
          const p = parseSecondsUs(v);
          if (p === null || p.us > 1000 * 1_000_000) {
            this.err(argLoc(c, 0), `preempt_delay must be 0..1000 seconds, got '${v}'`);
            break;
          }
          r.preemptDelayMs = Math.round(p.us / 1000);
          break;
        }
        case 'mcast_src_ip':
        case 'unicast_src_ip': {
          this.noBlock(c);
          const a = this.address(c, 0, k);
          if (k === 'unicast_src_ip') r.unicastKeyword = true;
          if (a !== null) r.src = { address: a.address, loc: argLoc(c, 0) };
          break;
        }
        case 'mcast_dst_ip': {
          this.noBlock(c);
          const a = this.address(c, 0, k);
          if (a === null) break;
          if (!isMulticast(a.address) || (a.family === 6 && !isLinkLocalMulticast6(a.address))) {
            this.err(argLoc(c, 0), `mcast_dst_ip must be a ${a.family === 6 ? 'link-local (ff02::/16) ' : ''}multicast address, got '${a.address}'`);
            break;
          }
          r.mcastDst = { address: a.address, loc: argLoc(c, 0) };
          break;
        }
        case 'unicast_peer': {
          r.unicastKeyword = true;
          const peers = this.needBlock(c);
          for (const p of peers ?? []) {
            this.noBlock(p);
            const addr = p.keyword.text;
            if (familyOf(addr) === null) {
              this.err(at(p), `${owner}: unicast_peer '${addr}' is not an IPv4 or IPv6 address`);
              continue;
            }
            const peer: UnicastPeer = { address: addr, minTtl: 0, maxTtl: 255, loc: at(p) };
            for (let i = 0; i < p.args.length; i += 2) {
              const opt = arg(p, i) ?? '';
              const val = arg(p, i + 1);
              const ttl = val === undefined ? null : parseUnsigned(val);
              if ((opt !== 'min_ttl' && opt !== 'max_ttl') || ttl === null || ttl > 255) {
                this.warn(argLoc(p, i), `${owner}: unicast_peer ${addr}: expected 'min_ttl N' or 'max_ttl N' (0..255), got '${[opt, val ?? ''].join(' ').trim()}'`);
                break;
              }
              if (opt === 'min_ttl') peer.minTtl = ttl;
              else peer.maxTtl = ttl;
              r.checkUnicastSrc = true;
            }
            if (peer.minTtl > peer.maxTtl) this.warn(at(p), `${owner}: unicast_peer ${addr}: min_ttl ${peer.minTtl} > max_ttl ${peer.maxTtl}: every packet will be dropped`);
            if (r.peers.some((x) => canonicalAddress(x.address) === canonicalAddress(addr))) {
              this.warn(at(p), `${owner}: unicast_peer ${addr} listed twice`);
              continue;
            }
            r.peers.push(peer);
          }
          break;
        }
        case 'unicast_ttl':
          r.unicastTtl = this.int(c, 0, 255) ?? r.unicastTtl;
          break;
        case 'check_unicast_src':
          this.flag(c);
          r.unicastKeyword = true;
          r.checkUnicastSrc = true;
          break;
        case 'unicast_fault_no_peer':
          this.flag(c);
          r.unicastKeyword = true;
          r.unicastFaultNoPeer = true;
          break;
        case 'authentication': {
          const auth = this.needBlock(c);
          r.authLoc = at(c);
          for (const a of auth ?? []) {
            const ak = name(a);
            if (ak === 'auth_type') {
              const v = this.value(a, 'PASS or AH');
              if (v === 'PASS' || v === 'AH') r.authType = v;
              else if (v !== null) this.err(argLoc(a, 0), `${owner}: auth_type must be PASS or AH, got '${v}'`);
            } else if (ak === 'auth_pass') {
              const v = this.value(a, 'a password');
              if (v === null) break;
              if (v.length > 8) this.warn(argLoc(a, 0), `${owner}: auth_pass is longer than 8 characters; only '${v.slice(0, 8)}' is used (truncated, as keepalived does)`);
              r.authPass = v.slice(0, 8);
            } else {
              this.unknown(a, `authentication of ${owner}`);
            }
          }
          break;
        }
        case 'virtual_ipaddress':
        case 'virtual_ipaddress_excluded': {
          const lines = this.needBlock(c);
          for (const l of lines ?? []) {
            const v = this.vip(l, owner);
            if (v !== null) (k === 'virtual_ipaddress' ? r.vips : r.evips).push(v);
          }
          break;
        }
        case 'track_interface':
          r.trackIfs.push(...this.refs(c, 'track_interface', -253, 253));
          break;
        case 'track_script':
          r.trackScripts.push(...this.refs(c, 'track_script', -253, 253));
          break;
        case 'track_file':
          r.trackFiles.push(...this.refs(c, 'track_file', -254, 254));
          break;
        case 'dont_track_primary':
          this.flag(c);
          r.dontTrackPrimary = true;
          break;
        case 'track_src_ip':
          this.flag(c);
          r.trackSrcIp = true;
          break;
        case 'garp_master_delay':
          setGarp('masterDelayMs', this.seconds(c));
          break;
        case 'garp_master_repeat':
          setGarp('masterRepeat', this.count(c));
          break;
        case 'garp_master_refresh':
          setGarp('masterRefreshMs', this.seconds(c));
          break;
        case 'garp_master_refresh_repeat':
          setGarp('masterRefreshRepeat', this.count(c));
          break;
        case 'garp_lower_prio_delay':
          setGarp('lowerPrioDelayMs', this.seconds(c));
          break;
        case 'garp_lower_prio_repeat':
          setGarp('lowerPrioRepeat', this.int(c, 0, 2 ** 31 - 1));
          break;
        case 'accept':
          this.flag(c);
          r.accept = true;
          break;
        case 'no_accept':
          this.flag(c);
          r.accept = false;
          break;
        case 'use_vmac': {
          this.noBlock(c);
          const vm = { ifname: null as string | null, mac: null as string | null, xmitBase: false };
          for (const t of c.args.slice(0, 2)) {
            if (t.text.includes(':')) vm.mac = t.text;
            else vm.ifname = t.text;
          }
          r.vmac = vm;
          break;
        }
        case 'vmac_xmit_base':
          this.flag(c);
          r.xmitBase = true;
          break;
        case 'lower_prio_no_advert':
          r.lowerPrioNoAdvert = this.optBool(c) ?? r.lowerPrioNoAdvert;
          break;
        case 'higher_prio_send_advert':
          r.higherPrioSendAdvert = this.optBool(c) ?? r.higherPrioSendAdvert;
          break;
        case 'smtp_alert':
          r.smtpAlert = this.optBool(c) ?? r.smtpAlert;
          break;
        case 'strict_mode':
          r.strict = this.optBool(c) ?? r.strict;
          break;
        case 'skip_check_adv_addr':
          r.skipCheckAdvAddr = this.optBool(c) ?? r.skipCheckAdvAddr;
          break;
        case 'notify_priority_changes':
          r.notifyPriorityChanges = this.optBool(c) ?? r.notifyPriorityChanges;
          break;
        case 'down_timer_adverts':
          r.downTimerAdverts = this.int(c, 1, 100) ?? r.downTimerAdverts;
          break;
        case 'promote_secondaries':
          this.flag(c);
          r.promoteSecondaries = true;
          break;
        case 'virtual_routes':
        case 'virtual_rules': {
          const lines = this.needBlock(c);
          for (const l of lines ?? []) {
            this.noBlock(l);
            (k === 'virtual_routes' ? r.routes : r.rules).push({ words: [l.keyword.text, ...l.args.map((t) => t.text)], loc: at(l) });
          }
          break;
        }
        default:
          if (INSTANCE_NOT_HANDLED.has(k)) {
            if (k === 'lvs_sync_daemon_interface') this.warn(at(c), `${owner}: lvs_sync_daemon_interface is deprecated (and LVS is not handled by vipd); ignored`);
            else this.notHandled(c, owner);
          } else this.unknown(c, owner);
      }
    }
    this.instances.push(r);
  }

  // ---- completion (keepalived's vrrp_complete_instance) ------------------------------------

  private resolveRefs(raw: RawRef[], owner: string, kind: 'script' | 'file' | 'interface'): TrackRef[] {
    const out: TrackRef[] = [];
    for (const r of raw) {
      if (kind === 'interface') {
        out.push({ name: r.name, weight: r.weight ?? 0, reverse: r.reverse ?? false, loc: r.loc });
        continue;
      }
      if (kind === 'script') {
        const s = this.scripts.find((x) => x.script.name === r.name);
        if (s === undefined) {
          this.err(r.loc, `${owner}: track_script '${r.name}' is not defined by any vrrp_script${this.suggest(r.name, this.scripts.map((x) => x.script.name))}`);
          continue;
        }
        if (!s.hasCommand) {
          this.warn(r.loc, `${owner}: track_script '${r.name}' refers to a vrrp_script without 'script'; ignored`);
          continue;
        }
        out.push({ name: r.name, weight: r.weight ?? s.script.weight, reverse: r.reverse ?? s.script.weightReverse, loc: r.loc });
      } else {
        const f = this.trackFiles.find((x) => x.name === r.name);
        if (f === undefined) {
          if (this.trackFileRemoved.has(r.name)) {
            this.warn(r.loc, `${owner}: track_file '${r.name}' refers to a track_file without 'file'; ignored`);
          } else {
            this.err(r.loc, `${owner}: track_file '${r.name}' is not defined by any track_file block${this.suggest(r.name, this.trackFiles.map((x) => x.name))}`);
          }
          continue;
        }
        out.push({ name: r.name, weight: r.weight ?? f.weight, reverse: r.reverse ?? f.weightReverse, loc: r.loc });
      }
    }
    return out;
  }

  private suggest(wanted: string, known: string[]): string {
    if (known.length === 0) return '';
    const close = known.find((k) => k.toLowerCase() === wanted.toLowerCase() || k.replace(/[-_]/g, '') === wanted.replace(/[-_]/g, ''));
    return close !== undefined ? ` (did you mean '${close}'?)` : ` (defined: ${known.join(', ')})`;
  }

  complete(): Config {
    const g = this.global;
    const groups: SyncGroup[] = [];
    const memberOf = new Map<string, string>();
    for (const raw of this.groups) {
      const owner = `vrrp_sync_group ${raw.group.name}`;
      if (raw.members.length === 0) {
        this.warn(raw.group.loc, `${owner} has no member instances; removed`);
        continue;
      }
      for (const m of raw.members) {
        if (!this.instances.some((i) => i.name === m.name)) {
          this.warn(m.loc, `${owner}: instance '${m.name}' does not exist; ignored`);
          continue;
        }
        const already = memberOf.get(m.name);
        if (already !== undefined) {
          this.warn(m.loc, `${owner}: instance '${m.name}' is already in sync group ${already}; an instance can be in one group only`);
          continue;
        }
        memberOf.set(m.name, raw.group.name);
        raw.group.instances.push(m.name);
      }
      if (raw.group.instances.length === 0) {
        this.warn(raw.group.loc, `${owner}: none of its instances exist; removed`);
        continue;
      }
      if (raw.group.instances.length === 1) this.warn(raw.group.loc, `${owner} has only one instance; this is probably not what you want`);
      raw.group.trackInterfaces = this.resolveRefs(raw.refs.ifs, owner, 'interface');
      raw.group.trackScripts = this.resolveRefs(raw.refs.scripts, owner, 'script');
      raw.group.trackFiles = this.resolveRefs(raw.refs.files, owner, 'file');
      groups.push(raw.group);
    }

    const instances = this.instances.map((r) => this.completeInstance(r, memberOf.get(r.name) ?? null, groups));

    for (const grp of groups) {
      const members = instances.filter((i) => i.syncGroup === grp.name);
      const owners = members.filter((i) => i.initialState === 'MASTER' && i.priority === 255);
      if (owners.length > 0 && owners.length < members.length) {
        this.warn(grp.loc, `vrrp_sync_group ${grp.name}: some members are address owners (state MASTER, priority 255) and some are not; this won't work`);
      }
    }
    this.checkVridConflicts(instances);
    return {
      files: this.opts.files,
      configId: this.opts.configId,
      global: g,
      scripts: this.scripts.filter((s) => s.hasCommand).map((s) => s.script),
      trackFiles: this.trackFiles,
      syncGroups: groups,
      instances,
      ignoredBlocks: this.ignored,
    };
  }

  private completeInstance(r: RawInstance, syncGroup: string | null, groups: SyncGroup[]): VrrpInstance {
    const g = this.global;
    const owner = `vrrp_instance ${r.name}`;
    const kl = (k: string): SourceLocation => r.keywordLocs[k] ?? r.loc;
    const strict = r.strict ?? g.strict;

    // Family: from the first VIP, else the source address or the peers (keepalived order).
    let family: AddressFamily | null = r.vips[0]?.family ?? null;
    const firstVip = r.vips[0];
    for (const v of r.vips) {
      if (v.family !== family && firstVip !== undefined) {
        this.err(v.loc, `${owner}: VIP ${v.address} is IPv${v.family} but the instance is IPv${family ?? 4} (from ${firstVip.address}); all virtual_ipaddress entries must be one family (use virtual_ipaddress_excluded for the other)`);
      }
    }
    const vips = r.vips.filter((v) => v.family === family);
    if (r.src !== null) {
      const sf = familyOf(r.src.address);
      if (family === null) family = sf;
      else if (sf !== family) this.err(r.src.loc, `${owner}: source address ${r.src.address} is IPv${sf} but the instance is IPv${family}`);
    }
    for (const p of r.peers) {
      const pf = familyOf(p.address);
      if (family === null) family = pf;
      else if (pf !== family) this.err(p.loc, `${owner}: unicast_peer ${p.address} is IPv${pf} but the instance is IPv${family}`);
    }
    if (r.mcastDst !== null) {
      const mf = familyOf(r.mcastDst.address);
      if (family === null) family = mf;
      else if (mf !== family) this.err(r.mcastDst.loc, `${owner}: mcast_dst_ip ${r.mcastDst.address} is IPv${mf} but the instance is IPv${family}`);
    }
    if (family === null) family = r.nativeIpv6 ? 6 : 4;
    const peers = r.peers.filter((p) => familyOf(p.address) === family);

    let version: 2 | 3 = r.version ?? (family === 6 ? 3 : g.vrrpVersion);
    if (family === 6 && version === 2) {
      this.warn(kl('version'), `${owner}: VRRP version 2 cannot carry IPv6 addresses (RFC 3768); using version 3`);
      version = 3;
    }

    if (r.vrid === null && r.keywordLocs['virtual_router_id'] === undefined) {
      this.err(r.loc, `${owner}: virtual_router_id is missing (every instance needs one, 1..255, the same on all hosts)`);
    }

    if (vips.length === 0 && r.vips.length === 0) {
      if (version === 3 || strict) this.err(r.loc, `${owner}: no virtual_ipaddress; at least one is required${strict ? ' in strict mode' : ' with VRRP version 3'}`);
      else this.warn(r.loc, `${owner}: no virtual_ipaddress; at least one is sensible`);
    }

    // Priority and state derive from each other (vrrp_complete_instance).
    let priority = r.priority;
    if (priority === null) {
      priority = r.state === 'MASTER' ? 255 : 100;
      if (r.state === 'MASTER') {
        this.warn(kl('state'), `${owner}: state MASTER without priority makes this host the address owner (priority 255, as keepalived does); set a priority to avoid that`);
      }
    }
    let state: 'MASTER' | 'BACKUP' = r.state ?? (priority === 255 ? 'MASTER' : 'BACKUP');
    if (r.state !== null && strict && (state === 'MASTER') !== (priority === 255)) {
      this.warn(kl('state'), `${owner}: in strict mode state MASTER must go with priority 255; using state ${priority === 255 ? 'MASTER' : 'BACKUP'}`);
      state = priority === 255 ? 'MASTER' : 'BACKUP';
    }

    // Authentication (RFC 3768 removed it; keepalived keeps PASS/AH for v2 only).
    let auth: VrrpInstance['auth'] = null;
    const authAt = r.authLoc ?? r.loc;
    if (r.authType !== null) {
      if (strict) this.warn(authAt, `${owner}: strict mode does not support authentication; ignored`);
      else if (version === 3) this.warn(authAt, `${owner}: VRRP version 3 has no authentication; ignored`);
      else if (r.authPass === null || r.authPass === '') this.warn(authAt, `${owner}: auth_type ${r.authType} without auth_pass; authentication ignored`);
      else if (family === 6 && r.authType === 'AH') this.warn(authAt, `${owner}: AH authentication cannot be used with IPv6; ignored`);
      else {
        auth = { type: r.authType, password: r.authPass };
        if (r.authType === 'AH' && state === 'MASTER' && priority !== 255) {
          this.warn(kl('state'), `${owner}: initial state MASTER does not work with AH authentication; using BACKUP (as keepalived does)`);
          state = 'BACKUP';
        }
      }
    } else if (r.authPass !== null) {
      this.warn(authAt, `${owner}: auth_pass without auth_type; authentication ignored`);
    }

    const unicast = peers.length > 0;
    if (unicast && strict) this.err(kl('unicast_peer'), `${owner}: unicast peers are not allowed in strict mode`);
    if (r.unicastKeyword && !unicast && !r.unicastFaultNoPeer) {
      this.warn(kl('unicast_peer'), `${owner}: a unicast keyword is given but no unicast_peer; multicast is used (deprecated behaviour)`);
    }
    if (r.iface === null && !(unicast && r.src !== null)) {
      this.err(r.loc, `${owner}: interface is missing (only unicast instances with unicast_src_ip may omit it)`);
    }
    if (r.iface === null && unicast && family === 6 && r.src !== null && isLinkLocal6(r.src.address)) {
      this.err(r.src.loc, `${owner}: without an interface the source address cannot be link-local`);
    }

    let preempt = !r.nopreempt;
    let preemptDelayMs = r.preemptDelayMs;
    if (priority === 255 && !preempt) {
      this.warn(kl('nopreempt'), `${owner}: nopreempt does not work with priority 255; ignored`);
      preempt = true;
    }
    if (state === 'MASTER') {
      if (!preempt) {
        this.warn(kl('nopreempt'), `${owner}: nopreempt does not work with state MASTER; ignored (use state BACKUP on every host with nopreempt)`);
        preempt = true;
      }
      if (preemptDelayMs > 0) {
        this.warn(kl('preempt_delay'), `${owner}: preempt_delay does not work with state MASTER; ignored`);
        preemptDelayMs = 0;
      }
    }
    if (preemptDelayMs > 0 && strict) {
      this.warn(kl('preempt_delay'), `${owner}: preempt_delay is not allowed in strict mode; ignored`);
      preemptDelayMs = 0;
    }
    if (preemptDelayMs > 0 && !preempt) {
      this.warn(kl('preempt_delay'), `${owner}: preempt_delay has no effect with nopreempt; ignored`);
      preemptDelayMs = 0;
    }

    let downTimerAdverts = r.downTimerAdverts ?? g.downTimerAdverts;
    if (r.downTimerAdverts !== null && r.downTimerAdverts !== 3 && strict) {
      this.warn(kl('down_timer_adverts'), `${owner}: down_timer_adverts is not allowed in strict mode; using 3`);
      downTimerAdverts = 3;
    }

    let accept = r.accept ?? (priority === 255 ? true : !strict);
    if (accept && priority !== 255 && strict && version === 2) {
      this.warn(kl('accept'), `${owner}: accept mode with VRRP version 2 does not comply with RFC 3768 in strict mode; ignored`);
      accept = false;
    }

    let mcastDestination: string | null = null;
    if (!unicast) mcastDestination = r.mcastDst?.address ?? (family === 4 ? g.mcastGroup4 : g.mcastGroup6);
    else if (r.mcastDst !== null) this.warn(r.mcastDst.loc, `${owner}: mcast_dst_ip is ignored with unicast peers`);

    const garp: GarpConfig = {
      masterDelayMs: r.garp.masterDelayMs ?? g.garp.masterDelayMs,
      masterRepeat: r.garp.masterRepeat ?? g.garp.masterRepeat,
      masterRefreshMs: r.garp.masterRefreshMs ?? g.garp.masterRefreshMs,
      masterRefreshRepeat: r.garp.masterRefreshRepeat ?? g.garp.masterRefreshRepeat,
      lowerPrioDelayMs: r.garp.lowerPrioDelayMs ?? (strict ? 0 : g.garp.lowerPrioDelayMs),
      lowerPrioRepeat: r.garp.lowerPrioRepeat ?? (strict ? 0 : g.garp.lowerPrioRepeat),
    };
    if (strict && (r.garp.lowerPrioRepeat ?? 0) > 0) {
      this.warn(kl('garp_lower_prio_repeat'), `${owner}: strict mode requires no repeated gratuitous ARPs; garp_lower_prio_repeat set to 0`);
      garp.lowerPrioRepeat = 0;
    }
    if (strict && (r.garp.lowerPrioDelayMs ?? 0) > 0) {
      this.warn(kl('garp_lower_prio_delay'), `${owner}: strict mode requires no repeated gratuitous ARPs; garp_lower_prio_delay set to 0`);
      garp.lowerPrioDelayMs = 0;
    }
    let lowerPrioNoAdvert = r.lowerPrioNoAdvert ?? (strict ? true : g.lowerPrioNoAdvert);
    if (strict && !lowerPrioNoAdvert) {
      this.warn(kl('lower_prio_no_advert'), `${owner}: strict mode requires lower_prio_no_advert; set`);
      lowerPrioNoAdvert = true;
    }
    let higherPrioSendAdvert = r.higherPrioSendAdvert ?? (strict ? false : g.higherPrioSendAdvert);
    if (strict && higherPrioSendAdvert) {
      this.warn(kl('higher_prio_send_advert'), `${owner}: strict mode requires higher_prio_send_advert off; cleared`);
      higherPrioSendAdvert = false;
    }

    // advert_int: v2 carries whole seconds (8 bits), v3 centiseconds (12 bits).
    let advertUs = r.advertUs ?? 1_000_000;
    const advAt = kl('advert_int');
    if (version === 2) {
      if (advertUs % 1_000_000 !== 0) {
        const rounded = Math.max(1_000_000, Math.round(advertUs / 1_000_000) * 1_000_000);
        this.warn(advAt, `${owner}: VRRPv2 advert_int must be whole seconds, got ${advertUs / 1e6}; rounded to ${rounded / 1e6}`);
        advertUs = rounded;
      }
    } else if (advertUs >= 4096 * 10_000) {
      this.warn(advAt, `${owner}: VRRPv3 advert_int must be less than 40.96 s, got ${advertUs / 1e6}; using 40.95`);
      advertUs = 4095 * 10_000;
    } else if (advertUs % 10_000 !== 0) {
      const rounded = Math.max(10_000, Math.round(advertUs / 10_000) * 10_000);
      this.warn(advAt, `${owner}: VRRPv3 advert_int is in units of 10 ms, got ${advertUs / 1e6}; rounded to ${rounded / 1e6}`);
      advertUs = rounded;
    }

    // Too many addresses for one advert: the rest become excluded (not advertised).
    const header = family === 4 ? 14 + 20 + 8 + (version === 2 ? 8 + (auth?.type === 'AH' ? 24 : 0) : 0) : 14 + 40 + 8;
    const maxAddr = Math.min(255, Math.floor((DEFAULT_MTU - header) / (family === 4 ? 4 : 16)));
    const excludedVips = [...r.evips];
    if (vips.length > maxAddr) {
      this.warn(vips[maxAddr]?.loc ?? r.loc, `${owner}: ${vips.length} VIPs do not fit in one advert (max ${maxAddr}); the rest are handled as virtual_ipaddress_excluded`);
      excludedVips.unshift(...vips.splice(maxAddr));
    }
    if (strict && family === 6 && !unicast && vips[0] !== undefined && !isLinkLocal6(vips[0].address)) {
      this.warn(vips[0].loc, `${owner}: in strict mode the first IPv6 VIP must be link-local`);
    }

    let trackInterfaces = this.resolveRefs(r.trackIfs, owner, 'interface');
    let trackScripts = this.resolveRefs(r.trackScripts, owner, 'script');
    let trackFiles = this.resolveRefs(r.trackFiles, owner, 'file');
    const grp = groups.find((x) => x.name === syncGroup);
    const syncNoWeight = grp !== undefined && !grp.trackingWeight;
    if (syncNoWeight || priority === 255) {
      // keepalived: weights would make sync-group members (or an address owner) disagree.
      const why = syncNoWeight ? `it is in sync group ${syncGroup ?? ''} (use sync_group_tracking_weight to keep weights)` : 'it has priority 255 (address owner)';
      trackInterfaces = trackInterfaces.flatMap((t) => {
        if (t.weight === 0) return [t];
        this.warn(t.loc, `${owner}: weight of track_interface ${t.name} ignored because ${why}`);
        return syncNoWeight ? [{ ...t, weight: 0 }] : [];
      });
      trackScripts = trackScripts.filter((t) => {
        if (t.weight === 0) return true;
        this.warn(t.loc, `${owner}: weighted track_script ${t.name} (weight ${t.weight}) ignored because ${why}`);
        return false;
      });
      trackFiles = trackFiles.flatMap((t) => {
        if (t.weight === 0) return [t];
        const explicit = r.trackFiles.find((x) => x.name === t.name)?.weight ?? null;
        const file = this.trackFiles.find((x) => x.name === t.name);
        if (explicit === null && file?.weight === 1) {
          this.warn(t.loc, `${owner}: default weight of track_file ${t.name} ignored because ${why}; specify weight 0`);
          return [{ ...t, weight: 0 }];
        }
        this.warn(t.loc, `${owner}: track_file ${t.name} with weight ${t.weight} ignored because ${why}`);
        return [];
      });
    }
    this.notImplemented(owner, r, kl, auth);

    return {
      name: r.name,
      interface: r.iface,
      vrid: r.vrid ?? 0,
      family,
      version,
      initialState: state,
      priority,
      advertIntervalMs: Math.round(advertUs / 1000),
      preempt,
      preemptDelayMs,
      sourceAddress: r.src?.address ?? null,
      mcastDestination,
      unicast,
      unicastPeers: peers,
      unicastTtl: r.unicastTtl ?? 255,
      checkUnicastSrc: r.checkUnicastSrc || g.checkUnicastSrc,
      unicastFaultNoPeer: r.unicastFaultNoPeer,
      auth,
      vips,
      excludedVips,
      trackInterfaces,
      trackScripts,
      trackFiles,
      dontTrackPrimary: r.dontTrackPrimary,
      trackSrcIp: r.trackSrcIp && r.src !== null,
      notify: r.notify,
      notifyPriorityChanges: r.notifyPriorityChanges ?? grp?.notifyPriorityChanges ?? g.notifyPriorityChanges,
      garp,
      accept,
      vmac: r.vmac === null ? null : { ...r.vmac, xmitBase: r.xmitBase },
      lowerPrioNoAdvert,
      higherPrioSendAdvert,
      smtpAlert: r.smtpAlert ?? g.smtpAlert ?? false,
      strict,
      skipCheckAdvAddr: r.skipCheckAdvAddr ?? g.skipCheckAdvAddr,
      downTimerAdverts,
      promoteSecondaries: r.promoteSecondaries,
      syncGroup,
      virtualRoutes: r.routes,
      virtualRules: r.rules,
      loc: r.loc,
      keywordLocs: r.keywordLocs,
    };
  }

  /**
   * Keywords vipd reads and keeps but does not act on, said where they are written so that
   * nobody mistakes a clean `vipd -t` for "behaves like keepalived here".
   */
  private notImplemented(
    owner: string,
    r: { vmac: unknown; routes: readonly DataLine[]; rules: readonly DataLine[]; smtpAlert: boolean | null },
    kl: (k: string) => SourceLocation,
    auth: VrrpInstance['auth'],
  ): void {
    if (r.vmac !== null) {
      this.warn(kl('use_vmac'), `${owner}: use_vmac is not implemented by vipd; the VIPs go on the interface itself with its own MAC`);
    }
    if (r.routes.length > 0) this.warn(kl('virtual_routes'), `${owner}: virtual_routes are kept but not installed by vipd`);
    if (r.rules.length > 0) this.warn(kl('virtual_rules'), `${owner}: virtual_rules are kept but not installed by vipd`);
    if (auth?.type === 'AH') {
      this.warn(kl('authentication'), `${owner}: auth_type AH (IPsec AH) is not implemented by vipd; its adverts are refused and counted under dropped.auth`);
    }
    if (r.smtpAlert === true) this.warn(kl('smtp_alert'), `${owner}: smtp_alert: vipd sends no e-mail; use notify scripts`);
  }

  /** Same VRID and family on one interface (and same group or overlapping peers) cannot both run. */
  private checkVridConflicts(instances: VrrpInstance[]): void {
    for (let i = 0; i < instances.length; i++) {
      const a = instances[i] as VrrpInstance;
      for (let j = i + 1; j < instances.length; j++) {
        const b = instances[j] as VrrpInstance;
        if (a.vrid === 0 || a.vrid !== b.vrid || a.family !== b.family || a.unicast !== b.unicast) continue;
        let clash: string | null = null;
        if (!a.unicast) {
          if (a.interface === b.interface && a.mcastDestination === b.mcastDestination) clash = `on interface ${a.interface ?? '?'}`;
        } else if (a.interface === null || b.interface === null || a.interface === b.interface) {
          const shared = a.unicastPeers.find((p) => b.unicastPeers.some((q) => canonicalAddress(q.address) === canonicalAddress(p.address)));
          if (shared !== undefined) clash = `with the same unicast peer ${shared.address}`;
        }
        if (clash !== null) {
          this.err(
            b.keywordLocs['virtual_router_id'] ?? b.loc,
            `vrrp_instance ${b.name}: virtual_router_id ${b.vrid} is already used by ${a.name} (IPv${a.family}, ${clash}; ${a.loc.file}:${a.loc.line}); each virtual router needs its own id`,
          );
        }
      }
    }
  }
}

export function buildConfig(ast: readonly AstNode[], diags: DiagnosticBag, opts: BuildOptions): Config {
  const b = new Builder(diags, opts);
  b.build(ast);
  return b.complete();
}
