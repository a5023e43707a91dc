/** The VRRP core: pure state machine, priority arithmetic, sync groups. */
export * from './types.js';
export { createInstance, normalizeParams, step, skewTimeMs, masterDownIntervalMs } from './instance.js';
export { computePriority } from './priority.js';
export type { Tracker, TrackerStatus, PriorityResult } from './priority.js';
export { stepSyncGroup, syncGroupContext, syncGroupEvents, syncGroupInitialStates } from './sync-group.js';
export type { MemberAction, SyncGroupEvent } from './sync-group.js';
export { compareAddresses } from './address.js';
