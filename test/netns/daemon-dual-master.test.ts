/**
 * The dual-master setup of the seeds (seed 002: lb01 and lb02 each MASTER of one VIP,
 * BACKUP of the other, crossed priorities), run unchanged except for the interface
 * name and the addresses: each host holds its own VIP, and either host takes over
 * both when the other goes away, then gives one back when it returns.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lan, netnsSkip } from '../helpers/netns.js';
import { assertSoleHolder, masterDownMs, REPO_ROOT, skewMs, timeUntilAddress, VipdHost } from '../helpers/vipd.js';

const MARGIN_MS = 1500;
const SEEDS = join(REPO_ROOT, 'test', 'fixtures', 'configs', 'seeds');

describe('dual-master from seed 002', { skip: netnsSkip() }, () => {
  let lan: Lan;
  let dir: string;
  let h1: VipdHost;
  let h2: VipdHost;
  let vip1: string;
  let vip2: string;

  /** The seed's file on this LAN: ens33 → eth0, 192.168.178.3/.4 → the LAN's .103/.104. */
  const seed = async (file: string): Promise<string> =>
    (await readFile(join(SEEDS, file), 'utf8'))
      .replace(/ens33/g, 'eth0')
      .replace(/192\.168\.178\.3\b/g, vip1)
      .replace(/192\.168\.178\.4\b/g, vip2);

  before(async () => {
    lan = await Lan.create();
    dir = await mkdtemp(join(tmpdir(), 'vipd-dual-'));
    vip1 = lan.addr(103);
    vip2 = lan.addr(104);
    const [c1, c2] = await Promise.all([seed('seed002-lb01-dual.conf'), seed('seed002-lb02-dual.conf')]);
    assert.match(c1, new RegExp(`${vip1.replace(/\./g, '\\.')}/24 dev eth0 label eth0:3`));
    [h1, h2] = await Promise.all([VipdHost.start(lan, 'h1', dir, c1), VipdHost.start(lan, 'h2', dir, c2)]);
  });

  after(async () => {
    await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function split(): Promise<void> {
    await h1.waitForState('VI_1', 'MASTER');
    await h2.waitForState('VI_2', 'MASTER');
    await h1.waitForState('VI_2', 'BACKUP');
    await h2.waitForState('VI_1', 'BACKUP');
    await Promise.all([lan.waitForAddress('h1', vip1), lan.waitForAddress('h2', vip2)]);
    await Promise.all([
      assertSoleHolder(lan, ['h1', 'h2'], vip1, 'h1', 2000),
      assertSoleHolder(lan, ['h1', 'h2'], vip2, 'h2', 2000),
    ]);
  }

  test('each host is MASTER of its own VIP, with the label from the seed', async () => {
    await split();
    const a1 = (await lan.addrs('h1')).find((a) => a.local === vip1);
    const a2 = (await lan.addrs('h2')).find((a) => a.local === vip2);
    assert.deepEqual([a1?.prefixlen, a1?.label], [24, 'eth0:3']);
    assert.deepEqual([a2?.prefixlen, a2?.label], [24, 'eth0:4']);
    const s1 = await h1.status();
    assert.equal(s1.routerId, 'lb01');
    assert.deepEqual(
      s1.instances.map((i) => [i.name, i.vrid, i.state, i.effectivePriority]),
      [['VI_1', 51, 'MASTER', 150], ['VI_2', 52, 'BACKUP', 100]],
    );
  });

  test('lb01 stops: lb02 holds both VIPs; lb01 comes back and takes VI_1 back', async (t) => {
    await split();
    const t0 = performance.now();
    assert.equal((await h1.stop()).code, 0);
    const took = await timeUntilAddress(lan, 'h2', vip1, t0, 10_000);
    t.diagnostic(`VI_1 on lb02 ${took.toFixed(0)} ms after SIGTERM to lb01`);
    assert.ok(took <= skewMs(100) + MARGIN_MS, `lb02 took ${took.toFixed(0)} ms`);
    await h2.waitForState('VI_1', 'MASTER', 2000);
    assert.equal((await h2.instance('VI_2')).state, 'MASTER');
    assert.ok(await lan.hasAddress('h2', vip2));
    assert.equal(await lan.hasAddress('h1', vip1), false);

    await h1.restart();
    await split();
  });

  test('lb02 dies: lb01 holds both VIPs; lb02 comes back and takes VI_2 back', async (t) => {
    await split();
    const t0 = performance.now();
    await h2.kill('SIGKILL');
    const took = await timeUntilAddress(lan, 'h1', vip2, t0, 15_000);
    t.diagnostic(`VI_2 on lb01 ${took.toFixed(0)} ms after SIGKILL of lb02`);
    assert.ok(took <= masterDownMs(100) + MARGIN_MS, `lb01 took ${took.toFixed(0)} ms`);
    await h1.waitForState('VI_2', 'MASTER', 2000);
    assert.equal((await h1.instance('VI_1')).state, 'MASTER');

    await h2.restart();
    await split();
  });
});
