/**
 * The protocol's durations, in milliseconds, computed exactly: every value is a
 * multiple of 1/256 ms (v2) or 10/256 ms (v3), so a double holds it without rounding.
 * (holo-vrrp truncated the skew to whole seconds and passed v3 centiseconds as seconds.)
 */

/**
 * Skew_Time.
 * RFC 3768 §6.1 (v2): (256 − Priority) / 256 seconds, whatever the advertisement interval.
 * RFC 5798 §6.1 (v3): ((256 − Priority) × Master_Adver_Interval) / 256, interval in centiseconds.
 */
export function skewTimeMs(priority: number, intervalCs: number, version: 2 | 3): number {
  return version === 2 ? ((256 - priority) * 1000) / 256 : ((256 - priority) * intervalCs * 10) / 256;
}

/**
 * Master_Down_Interval = 3 × (Master_)Advertisement_Interval + Skew_Time (RFC 3768 §6.1,
 * RFC 5798 §6.1). keepalived's vrrp_down_timer_adverts replaces the 3.
 */
export function masterDownIntervalMs(
  priority: number,
  intervalCs: number,
  version: 2 | 3,
  downTimerAdverts = 3,
): number {
  return downTimerAdverts * intervalCs * 10 + skewTimeMs(priority, intervalCs, version);
}
