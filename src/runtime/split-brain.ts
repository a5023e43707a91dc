/**
 * Split-brain bookkeeping for one instance: another router advertising our VRID while
 * we are MASTER. VRRP demands that both sides become MASTER when they cannot hear each
 * other (a partition, or adverts the other side drops for a password or VIP-list
 * mismatch); the operator must learn that it happened, with whom, and when it ended.
 *
 * Not every advert heard as MASTER is a split brain: when a higher-priority backup takes
 * over, the old master's last advert may cross ours. So an advert only counts once we
 * have been MASTER for a full Master_Down_Interval (time enough for anyone who can hear
 * us to yield). The episode ends when we leave MASTER or hear no such advert for a
 * Master_Down_Interval. Pure: time comes in as `now` (monotonic ms) and `wall` (for humans).
 */

export interface SplitBrainEpisode {
  readonly peer: string;
  /** What the peer sent ("advert priority 100", "advert dropped: wrong password"). */
  readonly evidence: string;
  /** When we first heard the other master (often the moment a partition heals). */
  readonly since: string;
  /**
   * When our own MASTER time began: the two masters overlapped at most from here, since
   * a partition hides the other side until it heals.
   */
  readonly masterSince: string;
  readonly endedAt: string | null;
  readonly endReason: string | null;
}

export type SplitBrainChange =
  | { readonly kind: 'started'; readonly episode: SplitBrainEpisode }
  | { readonly kind: 'ended'; readonly episode: SplitBrainEpisode; readonly durationMs: number };

export class SplitBrainWatch {
  #masterSince: number | null = null;
  #masterSinceWall = '';
  #active: (SplitBrainEpisode & { readonly sinceMono: number; lastSeen: number }) | null = null;
  #last: SplitBrainEpisode | null = null;
  #count = 0;

  /** We became MASTER (or left it: null). Leaving MASTER ends an episode. */
  master(now: number | null, wall: string, reason: string): SplitBrainChange | null {
    this.#masterSince = now;
    if (now === null) return this.#end(wall, reason, null);
    this.#masterSinceWall = wall;
    return null;
  }

  /** An advert for our VRID from `peer`, heard (or dropped) while we may be MASTER. */
  heard(now: number, wall: string, peer: string, evidence: string, masterDownMs: number): SplitBrainChange | null {
    if (this.#masterSince === null || now - this.#masterSince < masterDownMs) return null;
    if (this.#active !== null) {
      this.#active.lastSeen = now;
      return null;
    }
    this.#count++;
    this.#active = {
      peer,
      evidence,
      since: wall,
      masterSince: this.#masterSinceWall,
      endedAt: null,
      endReason: null,
      sinceMono: now,
      lastSeen: now,
    };
    return { kind: 'started', episode: this.#public(this.#active) };
  }

  /** Called as MASTER at every advert we send: ends an episode gone quiet. */
  tick(now: number, wall: string, masterDownMs: number): SplitBrainChange | null {
    if (this.#active === null || now - this.#active.lastSeen < masterDownMs) return null;
    return this.#end(wall, `no advert from ${this.#active.peer} for ${Math.round((now - this.#active.lastSeen) / 100) / 10} s`, now);
  }

  #end(wall: string, reason: string, now: number | null): SplitBrainChange | null {
    const a = this.#active;
    if (a === null) return null;
    this.#active = null;
    this.#last = { ...this.#public(a), endedAt: wall, endReason: reason };
    return { kind: 'ended', episode: this.#last, durationMs: (now ?? a.lastSeen) - a.sinceMono };
  }

  #public(a: SplitBrainEpisode): SplitBrainEpisode {
    return { peer: a.peer, evidence: a.evidence, since: a.since, masterSince: a.masterSince, endedAt: a.endedAt, endReason: a.endReason };
  }

  /** For the status document: the ongoing episode, else the last one; and how many so far. */
  status(): { readonly active: boolean; readonly count: number; readonly episode: SplitBrainEpisode | null } {
    return {
      active: this.#active !== null,
      count: this.#count,
      episode: this.#active !== null ? this.#public(this.#active) : this.#last,
    };
  }
}
