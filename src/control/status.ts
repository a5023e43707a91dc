/**
 * The status document of DESIGN.md (`vipctl status --json`). Field names and meanings
 * are a contract; fields may be added, never renamed.
 */
import type { SplitBrainEpisode } from '../runtime/split-brain.js';

export interface StatusDocument {
  readonly routerId: string;
  readonly pid: number;
  readonly uptimeSec: number;
  readonly configFile: string;
  readonly instances: readonly InstanceStatus[];
  /** Packets dropped before they could be tied to an instance (unknown VRID, undecodable). */
  readonly dropped: Record<string, number>;
}

export interface InstanceStatus {
  readonly name: string;
  readonly vrid: number;
  readonly interface: string;
  readonly version: 2 | 3;
  readonly state: 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT';
  readonly basePriority: number;
  readonly effectivePriority: number;
  readonly vips: readonly string[];
  /** Last master seen on the wire (ourselves when MASTER); null before any. */
  readonly master: { readonly address: string; readonly priority: number } | null;
  readonly lastTransition: {
    readonly from: string;
    readonly to: string;
    readonly at: string;
    readonly reason: string;
  } | null;
  readonly trackers: readonly TrackerStatus[];
  readonly stats: InstanceStats;
  /** Why the instance is in FAULT (empty otherwise). */
  readonly faultReasons: readonly string[];
  /** The address adverts are sent from (null when the interface has none). */
  readonly advertSource: string | null;
  /**
   * Another router advertised our VRID while we were MASTER: the ongoing episode (active),
   * else the last one; count is how many since start.
   */
  readonly splitBrain: {
    readonly active: boolean;
    readonly count: number;
    readonly episode: SplitBrainEpisode | null;
  };
}

export interface TrackerStatus {
  readonly kind: 'script' | 'interface' | 'file';
  readonly name: string;
  /** script: INIT | OK | FAILING | DISABLED; interface: UP | DOWN; file: the value read. */
  readonly status: string;
  readonly weight: number;
  /** Scripts: how many runs, failed runs, timeouts, and how the last one ended. */
  readonly runs?: number;
  readonly failures?: number;
  readonly timeouts?: number;
  readonly lastOutcome?: string | null;
  /** Files: the path read. */
  readonly path?: string;
  /** Why the tracker cannot do its job (script refused, file unreadable), if so. */
  readonly problem?: string | null;
}

export interface InstanceStats {
  advertRx: number;
  advertTx: number;
  becameMaster: number;
  releasedMaster: number;
  priorityZeroRx: number;
  priorityZeroTx: number;
  dropped: Record<string, number>;
}
