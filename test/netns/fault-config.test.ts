/**
 * Config edits that go wrong while vipd runs with --watch (issue 7): a truncated file, an
 * empty one, binary garbage, an include whose file disappears, and a file written slowly
 * (half, a pause, the rest) and one replaced by rename. Each time the daemon keeps running
 * the configuration it has (same instances, same states, no transition, VIPs in place) and
 * its log says why; a finished file is then applied as usual.
 *
 * daemon-reload.test.ts covers the explicit reloads and a broken save with --watch; here
 * the files are the kind a half-finished write or a config-management run leaves behind.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InstanceStatus } from '../../src/control/status.js';
import { Lan, netnsSkip } from '../helpers/netns.js';
import { sleep, VipdHost, vrrpConf, type InstanceSpec } from '../helpers/vipd.js';

describe('--watch and config files that are not what they should be', { skip: netnsSkip() }, () => {
  let lan: Lan;
  let dir: string;
  let h1: VipdHost;
  let vip1: string;
  let vip2: string;
  let vip3: string;
  let included: string;

  const vi = (name: string, vrid: number, ip: string): InstanceSpec => ({ name, state: 'MASTER', vrid, priority: 150, vips: [`${ip}/24`] });
  const mainConf = (extra: readonly InstanceSpec[] = []): string =>
    vrrpConf({ routerId: 'lb01', preamble: [`include ${join(dir, 'conf.d')}/*.conf`, ''], instances: [vi('VI_1', 51, vip1), ...extra] });
  const includedConf = (): string => vrrpConf({ routerId: 'lb01', instances: [vi('VI_2', 52, vip2)] }).replace(/^global_defs \{[^}]*\}\n/, '');

  /** What must not change when a file is refused. */
  const snapshot = (list: readonly InstanceStatus[]): unknown =>
    list.map((i) => ({ name: i.name, state: i.state, lastTransition: i.lastTransition, becameMaster: i.stats.becameMaster }));

  before(async () => {
    lan = await Lan.create({ hosts: ['h1'] });
    dir = await mkdtemp(join(tmpdir(), 'vipd-fault-config-'));
    vip1 = lan.addr(100);
    vip2 = lan.addr(101);
    vip3 = lan.addr(102);
    await mkdir(join(dir, 'conf.d'));
    included = join(dir, 'conf.d', 'vi2.conf');
    await writeFile(included, includedConf());
    h1 = await VipdHost.start(lan, 'h1', dir, mainConf(), { watch: true });
    // No peer: both instances become MASTER after their down timer.
    await h1.waitForState('VI_1', 'MASTER');
    await h1.waitForState('VI_2', 'MASTER');
  });

  after(async () => {
    await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Makes a bad edit, waits for the refusal line, and checks nothing changed. */
  async function refused(edit: () => Promise<void>, why: RegExp): Promise<string> {
    const before = snapshot((await h1.status()).instances);
    const mark = h1.proc.mark();
    await edit();
    const m = await h1.proc.waitForLine(/reload refused/, { after: mark, timeoutMs: 10_000 });
    const line = m.input ?? '';
    const said = h1.proc.stderr.slice(mark.stderr).join('\n');
    assert.match(said, why, h1.tail());
    // Give a wrongly applied reload time to show.
    await sleep(1000);
    assert.ok(h1.running, 'vipd is still running');
    assert.ok(!h1.proc.stderr.slice(mark.stderr).some((l) => /reload done|Entering|Stopped|VIP removed/.test(l)), h1.tail());
    assert.deepEqual(snapshot((await h1.status()).instances), before);
    assert.ok(await lan.hasAddress('h1', vip1), `${vip1} kept`);
    assert.ok(await lan.hasAddress('h1', vip2), `${vip2} kept`);
    return line;
  }

  /** Writes a good file and waits until the watcher applied it. */
  async function applied(edit: () => Promise<void>, done: RegExp): Promise<void> {
    const mark = h1.proc.mark();
    await edit();
    await h1.proc.waitForLine(done, { after: mark, timeoutMs: 10_000 });
  }

  test('a truncated file (cut in the middle of a block) is refused with the parser’s diagnostics', async () => {
    const full = mainConf();
    await refused(() => h1.writeConfig(full.slice(0, Math.floor(full.length * 0.6))), new RegExp(`${h1.confPath.replace(/\./g, '\\.')}:\\d+:\\d+: error: missing '\\}'`));
    await applied(() => h1.writeConfig(full), /reload done: 2 kept, 0 rebuilt, 0 added, 0 removed/);
  });

  test('an empty file (truncated to nothing) is refused: no vrrp_instance at all', async () => {
    const line = await refused(() => h1.writeConfig(''), /has no vrrp_instance at all/);
    assert.match(line, /still running the previous configuration/);
    await applied(() => h1.writeConfig(mainConf()), /reload done: 2 kept/);
  });

  test('binary garbage without a single brace is refused as not a text file', async () => {
    // Without braces the parser alone would only warn about unknown keywords, and the
    // reload would drop every instance.
    const junk = Buffer.from([...randomBytes(4096)].filter((b) => b !== 0x7b && b !== 0x7d));
    await refused(() => writeFile(h1.confPath, junk), /reload refused: .* is not a text file \(byte 0x[0-9a-f]{2} at offset \d+\)/);
    await applied(() => h1.writeConfig(mainConf()), /reload done: 2 kept/);
  });

  test('an included file that disappears is refused; once it is back the reload goes through', async () => {
    await refused(() => unlink(included), new RegExp(`reload refused: include .*conf\\.d/\\*\\.conf matches nothing now: .*vi2\\.conf of the running configuration is gone`));
    assert.equal((await h1.instance('VI_2')).state, 'MASTER');
    await applied(() => writeFile(included, includedConf()), /reload done: 2 kept, 0 rebuilt, 0 added, 0 removed/);
  });

  test('a slow writer: the half-written file is refused, the finished one applied; so is a replacement by rename', async (t) => {
    const next = mainConf([vi('VI_3', 53, vip3)]);
    const half = Math.floor(next.length / 2);
    const mark = h1.proc.mark();
    const fh = await open(h1.confPath, 'w');
    try {
      await fh.write(next.slice(0, half));
      await fh.sync();
      // Longer than the watcher waits for the size to settle.
      await refused(async () => undefined, /reload refused/);
      await fh.write(next.slice(half));
    } finally {
      await fh.close();
    }
    await h1.proc.waitForLine(/reload done: 2 kept, 0 rebuilt, 1 added \(VI_3\)|reload done: 2 kept, 0 rebuilt, 1 added, 0 removed/, { after: mark, timeoutMs: 10_000 });
    await h1.waitForState('VI_3', 'MASTER');
    t.diagnostic('the finished file added VI_3');

    // Editors and config tools often write a new file and rename it over the old one.
    const tmp = join(dir, 'h1.conf.tmp');
    await writeFile(tmp, mainConf([vi('VI_3', 53, vip3)]).slice(0, half));
    await refused(() => rename(tmp, h1.confPath), /reload refused/);
    await writeFile(tmp, mainConf());
    await applied(() => rename(tmp, h1.confPath), /reload done: 2 kept, 0 rebuilt, 0 added, 1 removed/);
    await lan.waitForAddress('h1', vip3, { present: false, timeoutMs: 5000 });
  });
});
