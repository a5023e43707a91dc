// Split brain: another router advertising our VRID while we are MASTER, counted only
// once we have been MASTER for a Master_Down_Interval (a preemption crossing is not one).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { SplitBrainWatch } from '../../src/runtime/split-brain.js';

const DOWN = 3609; // Master_Down_Interval of priority 100 at 1 s (RFC 3768 §6.1)
const wall = (ms: number): string => new Date(ms).toISOString();

it('adverts heard as BACKUP are never a split brain', () => {
  const w = new SplitBrainWatch();
  assert.equal(w.heard(10_000, wall(10_000), '10.0.0.2', 'advert', DOWN), null);
  assert.deepEqual(w.status(), { active: false, count: 0, episode: null });
});

it('the old master crossing our first adverts after a takeover is not a split brain', () => {
  const w = new SplitBrainWatch();
  w.master(1000, wall(1000), 'master down timer');
  assert.equal(w.heard(1000 + DOWN - 1, wall(1000 + DOWN - 1), '10.0.0.2', 'advert', DOWN), null);
  assert.equal(w.status().active, false);
});

it('a partition healing: started when heard after a long MASTER time, ended when quiet for a down interval', () => {
  const w = new SplitBrainWatch();
  w.master(0, wall(0), 'master down timer');
  const started = w.heard(60_000, wall(60_000), '10.0.0.2', 'advert with priority 100', DOWN);
  assert.equal(started?.kind, 'started');
  assert.equal(started?.episode.peer, '10.0.0.2');
  assert.equal(w.heard(61_000, wall(61_000), '10.0.0.2', 'advert', DOWN), null, 'one episode, not one per advert');
  assert.equal(w.tick(61_000 + DOWN - 1, wall(61_000 + DOWN - 1), DOWN), null, 'not quiet long enough yet');
  const ended = w.tick(61_000 + DOWN, wall(61_000 + DOWN), DOWN);
  assert.equal(ended?.kind, 'ended');
  assert.equal(ended?.kind === 'ended' ? ended.durationMs : -1, 1000 + DOWN);
  assert.match(ended?.episode.endReason ?? '', /no advert from 10\.0\.0\.2 for 3\.6 s/);
  assert.deepEqual(
    { active: w.status().active, count: w.status().count, endedAt: w.status().episode?.endedAt },
    { active: false, count: 1, endedAt: wall(61_000 + DOWN) },
  );
});

it('leaving MASTER ends the episode at once, with the reason', () => {
  const w = new SplitBrainWatch();
  w.master(0, wall(0), 'master down timer');
  w.heard(10_000, wall(10_000), '10.0.0.9', 'its adverts are dropped: wrong password', DOWN);
  const ended = w.master(null, wall(10_500), 'we left MASTER (higher priority advert)');
  assert.equal(ended?.kind, 'ended');
  assert.equal(ended?.episode.endReason, 'we left MASTER (higher priority advert)');
  assert.equal(w.master(null, wall(11_000), 'again'), null, 'nothing left to end');
});
