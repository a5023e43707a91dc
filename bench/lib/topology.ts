/** Pieces of the benchmark LANs: extra interfaces, configs (nginx: test/helpers/nginx.ts). */
export { startNginx } from '../../test/helpers/nginx.js';
import type { Lan } from '../../test/helpers/netns.js';
import { vrrpConf, type InstanceSpec } from '../../test/helpers/vipd.js';

/**
 * Gives every host interfaces eth1..eth<extra>, each pair of hosts joined by its own
 * bridge br<k> in the switch namespace, addressed `${subnet(k)}.<n>/24` where n is the
 * host's number on eth0.
 */
export async function addInterfaces(lan: Lan, extra: number, subnet: (k: number) => string): Promise<void> {
  for (let k = 1; k <= extra; k++) {
    await lan.execSwitch(['ip', 'link', 'add', `br${k}`, 'type', 'bridge', 'mcast_snooping', '0']);
    await lan.execSwitch(['ip', 'link', 'set', `br${k}`, 'up']);
    for (const h of lan.hosts) {
      const port = `q${k}-${h.name}`;
      const n = h.ipv4.split('.').at(-1) as string; // the same host number as on eth0
      await lan.execSwitch(['ip', 'link', 'add', port, 'type', 'veth', 'peer', 'name', `eth${k}`, 'netns', h.ns]);
      await lan.execSwitch(['ip', 'link', 'set', port, 'master', `br${k}`, 'up']);
      await lan.exec(h.name, ['ip', 'addr', 'add', `${subnet(k)}.${n}/24`, 'dev', `eth${k}`]);
      await lan.exec(h.name, ['ip', 'link', 'set', `eth${k}`, 'up']);
    }
  }
}

export interface InstancesSpec {
  readonly count: number;
  /** Interfaces to spread the instances over, round-robin in blocks. */
  readonly interfaces: readonly string[];
  /** VRID of instance i (0-based). */
  readonly vrid: (i: number) => number;
  /** VIP of instance i, "a.b.c.d" (a /24 is added). */
  readonly vip: (i: number) => string;
  readonly version: 2 | 3;
  readonly advertInt: number;
  readonly name?: (i: number) => string;
}

export const instanceName = (i: number): string => `VI_${i + 1}`;

/** keepalived.conf text for one side of a pair running `spec.count` instances. */
export function pairConf(routerId: string, role: 'master' | 'backup', spec: InstancesSpec): string {
  const perIf = Math.ceil(spec.count / spec.interfaces.length);
  const instances: InstanceSpec[] = Array.from({ length: spec.count }, (_, i) => ({
    name: (spec.name ?? instanceName)(i),
    state: role === 'master' ? 'MASTER' : 'BACKUP',
    interface: spec.interfaces[Math.floor(i / perIf)] as string,
    vrid: spec.vrid(i),
    priority: role === 'master' ? MASTER_PRIO : BACKUP_PRIO,
    advertInt: spec.advertInt,
    vips: [`${spec.vip(i)}/24`],
    ...(spec.version === 3 ? { extra: ['version 3'] } : {}),
  }));
  return vrrpConf({ routerId, instances });
}

export const MASTER_PRIO = 150;
export const BACKUP_PRIO = 100;

/** RFC 3768 §6.1 / RFC 5798 §6.1: Skew_Time in ms (v3 scales it with the interval). */
export function skewMs(version: 2 | 3, priority: number, advertInt: number): number {
  return version === 2 ? ((256 - priority) * 1000) / 256 : ((256 - priority) * advertInt * 1000) / 256;
}

/** Master_Down_Interval = 3 × Advertisement_Interval + Skew_Time, in ms. */
export function masterDownMs(version: 2 | 3, priority: number, advertInt: number): number {
  return 3 * advertInt * 1000 + skewMs(version, priority, advertInt);
}
