/** The bridge from the validated config to the VRRP core's static parameters. */
import type { VrrpInstance } from '../config/model.js';
import type { InstanceParams } from '../vrrp/types.js';

export function instanceParams(inst: VrrpInstance, primaryAddress: string): InstanceParams {
  return {
    name: inst.name,
    vrid: inst.vrid,
    version: inst.version,
    family: inst.family,
    basePriority: inst.priority,
    advertIntervalCs: Math.round(inst.advertIntervalMs / 10),
    initialState: inst.initialState,
    preempt: inst.preempt,
    preemptDelayMs: inst.preemptDelayMs,
    primaryAddress,
    downTimerAdverts: inst.downTimerAdverts,
    lowerPrioNoAdvert: inst.lowerPrioNoAdvert,
    higherPrioSendAdvert: inst.higherPrioSendAdvert,
    garp: {
      masterDelayMs: inst.garp.masterDelayMs,
      masterRepeat: inst.garp.masterRepeat,
      masterRefreshMs: inst.garp.masterRefreshMs,
      masterRefreshRepeat: inst.garp.masterRefreshRepeat,
    },
  };
}

/** "10.0.0.50/24" as the status document shows VIPs. */
export function vipText(v: { address: string; prefixLength: number }): string {
  return `${v.address}/${v.prefixLength}`;
}
