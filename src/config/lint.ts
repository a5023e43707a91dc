/**
 * `vipctl lint`: the configs of one cluster's hosts, checked against each other.
 * Instances are matched across hosts by name, else by a shared VIP; each match is one
 * virtual router, and everything the hosts must agree on for it is compared with the
 * first host that has it. Errors mean the hosts would not form one virtual router
 * (split brain) or would behave differently after a failover.
 */
import type { Diagnostic, SourceLocation } from './diagnostics.js';
import type { Config, VrrpInstance } from './model.js';
import { canonicalAddress } from './values.js';

interface Entry {
  readonly host: number;
  readonly file: string;
  readonly inst: VrrpInstance;
}

function diag(severity: 'error' | 'warning', loc: SourceLocation, message: string): Diagnostic {
  return { severity, file: loc.file, line: loc.line, col: loc.col, message };
}

const kwLoc = (i: VrrpInstance, k: string): SourceLocation => i.keywordLocs[k] ?? i.loc;
const where = (e: Entry, k: string): string => {
  const l = kwLoc(e.inst, k);
  return `${l.file}:${l.line}`;
};
const vipKey = (v: { address: string; prefixLength: number }): string => `${canonicalAddress(v.address)}/${v.prefixLength}`;
const secs = (ms: number): string => `${ms / 1000} s`;

function sharesVip(a: VrrpInstance, b: VrrpInstance): boolean {
  const set = new Set(a.vips.map((v) => canonicalAddress(v.address)));
  return a.family === b.family && b.vips.some((v) => set.has(canonicalAddress(v.address)));
}

/** Groups the instances of all hosts into virtual routers. */
function routers(entries: Entry[]): Entry[][] {
  const groups: Entry[][] = [];
  const free = (g: Entry[], e: Entry): boolean => !g.some((x) => x.host === e.host);
  for (const e of entries) {
    const g =
      groups.find((x) => free(x, e) && x.some((y) => y.inst.name === e.inst.name)) ??
      groups.find((x) => free(x, e) && x.some((y) => sharesVip(y.inst, e.inst) && !entries.some((z) => z.host === e.host && z !== e && z.inst.name === y.inst.name)));
    if (g !== undefined) g.push(e);
    else groups.push([e]);
  }
  return groups;
}

function compare(ref: Entry, e: Entry, out: Diagnostic[]): void {
  const a = ref.inst;
  const b = e.inst;
  const who = a.name === b.name ? b.name : `${b.name} (matched with ${a.name} by VIP)`;
  const there = (k: string): string => `in ${where(ref, k)}`;
  if (a.vrid !== b.vrid) {
    out.push(
      diag(
        'error',
        kwLoc(b, 'virtual_router_id'),
        `${who}: virtual_router_id ${b.vrid} here but ${a.vrid} ${there('virtual_router_id')}: the hosts ignore each other's adverts and both become MASTER (split brain)`,
      ),
    );
  }
  if (a.version !== b.version) {
    out.push(diag('error', kwLoc(b, 'version'), `${who}: VRRP version ${b.version} here but ${a.version} ${there('version')}: the hosts cannot read each other's adverts`));
  }
  if (a.advertIntervalMs !== b.advertIntervalMs) {
    out.push(
      diag(
        'error',
        kwLoc(b, 'advert_int'),
        `${who}: advert_int ${secs(b.advertIntervalMs)} here but ${secs(a.advertIntervalMs)} ${there('advert_int')}: VRRPv2 drops adverts with another interval, and the master-down timers disagree`,
      ),
    );
  }
  const authText = (i: VrrpInstance): string => (i.auth === null ? 'none' : i.auth.type);
  if (authText(a) !== authText(b)) {
    out.push(diag('error', kwLoc(b, 'authentication'), `${who}: authentication ${authText(b)} here but ${authText(a)} ${there('authentication')}: adverts are dropped as unauthenticated`));
  } else if (a.auth !== null && b.auth !== null && a.auth.password !== b.auth.password) {
    out.push(diag('error', kwLoc(b, 'authentication'), `${who}: auth_pass differs from ${where(ref, 'authentication')} (only the first 8 characters count): adverts are dropped as unauthenticated`));
  }
  if (a.unicast !== b.unicast) {
    out.push(diag('error', kwLoc(b, 'unicast_peer'), `${who}: ${b.unicast ? 'unicast' : 'multicast'} here but ${a.unicast ? 'unicast' : 'multicast'} in ${ref.file}: the hosts do not hear each other`));
  } else if (!a.unicast && a.mcastDestination !== b.mcastDestination) {
    out.push(diag('error', kwLoc(b, 'mcast_dst_ip'), `${who}: adverts go to ${b.mcastDestination ?? '?'} here but to ${a.mcastDestination ?? '?'} in ${ref.file}: the hosts do not hear each other`));
  }
  const av = a.vips.map(vipKey).sort();
  const bv = b.vips.map(vipKey).sort();
  if (av.join(' ') !== bv.join(' ')) {
    const aAddr = a.vips.map((v) => canonicalAddress(v.address)).sort().join(' ');
    const bAddr = b.vips.map((v) => canonicalAddress(v.address)).sort().join(' ');
    const firstDiff = b.vips.find((v) => !av.includes(vipKey(v)));
    const loc = firstDiff?.loc ?? kwLoc(b, 'virtual_ipaddress');
    const why =
      aAddr === bAddr
        ? 'the VIP gets a different prefix length depending on which host is MASTER'
        : 'adverts carry different address lists, which keepalived drops unless skip_check_adv_addr is set (split brain), and a failover moves different addresses';
    out.push(diag('error', loc, `${who}: virtual_ipaddress differs from ${where(ref, 'virtual_ipaddress')}: here ${bv.join(', ') || 'none'}, there ${av.join(', ') || 'none'}; ${why}`));
  }
  // Unicast peers must name each other (when the sources are written down).
  if (a.unicast && b.unicast) {
    if (b.sourceAddress !== null && !a.unicastPeers.some((p) => canonicalAddress(p.address) === canonicalAddress(b.sourceAddress ?? ''))) {
      out.push(diag('warning', kwLoc(b, 'unicast_src_ip'), `${who}: this host's unicast_src_ip ${b.sourceAddress} is not a unicast_peer in ${ref.file}`));
    }
    if (a.sourceAddress !== null && !b.unicastPeers.some((p) => canonicalAddress(p.address) === canonicalAddress(a.sourceAddress ?? ''))) {
      out.push(diag('warning', kwLoc(b, 'unicast_peer'), `${who}: unicast_src_ip ${a.sourceAddress} of ${ref.file} is not among the unicast peers here`));
    }
  }
}

function priorities(group: Entry[], out: Diagnostic[]): void {
  const owners = group.filter((e) => e.inst.priority === 255);
  const firstOwner = owners[0];
  for (const e of owners.slice(1)) {
    if (firstOwner === undefined) break;
    out.push(
      diag(
        'error',
        kwLoc(e.inst, e.inst.keywordLocs['priority'] ? 'priority' : 'state'),
        `${e.inst.name}: priority 255 (address owner) here and in ${where(firstOwner, firstOwner.inst.keywordLocs['priority'] ? 'priority' : 'state')}: only one host can own the addresses`,
      ),
    );
  }
  for (let i = 0; i < group.length; i++) {
    const a = group[i] as Entry;
    for (let j = i + 1; j < group.length; j++) {
      const b = group[j] as Entry;
      if (a.inst.priority === b.inst.priority && a.inst.priority !== 255 && a.inst.initialState === 'MASTER' && b.inst.initialState === 'MASTER') {
        out.push(
          diag(
            'error',
            kwLoc(b.inst, 'state'),
            `${b.inst.name}: state MASTER with priority ${b.inst.priority} here and in ${where(a, 'state')}: equal priorities make the master depend on IP addresses and both hosts start as MASTER; give the backup a lower priority`,
          ),
        );
      }
    }
  }
}

export function lintCluster(configs: readonly { readonly file: string; readonly config: Config }[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const entries: Entry[] = [];
  configs.forEach((c, host) => {
    for (const inst of c.config.instances) entries.push({ host, file: c.file, inst });
  });
  const groups = routers(entries);
  for (const g of groups) {
    const ref = g[0];
    if (ref === undefined) continue;
    if (g.length === 1 && configs.length > 1) {
      out.push(diag('warning', ref.inst.loc, `${ref.inst.name} exists only in ${ref.file}: no other host backs it up`));
      continue;
    }
    for (const e of g.slice(1)) compare(ref, e, out);
    priorities(g, out);
  }
  // A VRID used by two different virtual routers on the same LAN (same interface name).
  const reported = new Set<string>();
  for (let i = 0; i < groups.length; i++) {
    for (let j = i + 1; j < groups.length; j++) {
      for (const a of groups[i] ?? []) {
        for (const b of groups[j] ?? []) {
          const ai = a.inst;
          const bi = b.inst;
          if (ai.vrid !== bi.vrid || ai.family !== bi.family || ai.unicast || bi.unicast || ai.interface !== bi.interface || ai.mcastDestination !== bi.mcastDestination) continue;
          if (a.host === b.host) continue; // the single-host check already reports this
          const key = `${i}/${j}`;
          if (reported.has(key)) continue;
          reported.add(key);
          out.push(
            diag(
              'error',
              kwLoc(bi, 'virtual_router_id'),
              `${bi.name}: virtual_router_id ${bi.vrid} is also used by ${ai.name} in ${where(a, 'virtual_router_id')}, a different virtual router (other name and VIPs) on interface ${bi.interface ?? '?'}: their adverts collide`,
            ),
          );
        }
      }
    }
  }
  return out;
}
