/**
 * The bytes on the wire, judged by the other side. Two exchanges run side by side:
 *   keepalived MASTER (kam) → vipd BACKUP (vib)    and    vipd MASTER (vim) → keepalived BACKUP (kab)
 * each with four instances: VRRPv2 with PASS, VRRPv2 without authentication and two
 * VIPs, VRRPv3 over IPv4, VRRPv3 over IPv6. The backups capture to pcap files until the
 * masters stop (priority 0). Then:
 *   - every keepalived advert decodes in vipd's codec, validates against the instance as
 *     the daemon configures it, and re-encodes to the same bytes;
 *   - every vipd advert is clean in tshark (good checksums, not malformed, no expert
 *     info) and looks like keepalived's (TOS, TTL/hop limit, IP flags);
 *   - each backup accepted the other's adverts: it stayed BACKUP, counted/complained of
 *     nothing, and saw the priority 0 adverts.
 * tshark also judges keepalived's adverts, which shows the judge's settings are right.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lan, netnsSkip, requireRoot, type NsProcess } from '../helpers/netns.js';
import {
  assertKeepalivedContent,
  decodeFrame,
  KeepalivedPeer,
  masterDownIntervalMs,
  MARGIN_MS,
  readPcap,
  startCapture,
  startPeer,
  stopAll,
  stopCapture,
  tsharkVrrp,
  VipdPeer,
  type CapturedAdvert,
  type Impl,
  type Peer,
  type TsharkVrrp,
} from '../helpers/interop.js';
import { sleep, vrrpConf, type InstanceSpec } from '../helpers/vipd.js';
import { authDataFromPassword, encode, validate, type VrrpPacket } from '../../src/protocol/index.js';

const MASTER_PRIO = 200;
const BACKUP_PRIO = 100;
const PASSWORD = 'wire-pw';

interface Inst {
  readonly name: string;
  readonly version: 2 | 3;
  readonly family: 4 | 6;
  readonly vrid: number;
  readonly vips: readonly string[];
  readonly pass?: string;
}

interface Exchange {
  readonly title: string;
  readonly masterImpl: Impl;
  readonly backupImpl: Impl;
  readonly hosts: readonly [string, string];
  /** VRIDs and VIPs are offset so the two exchanges do not meet on the shared bridge. */
  readonly offset: number;
}

const EXCHANGES: readonly Exchange[] = [
  { title: 'keepalived → vipd', masterImpl: 'keepalived', backupImpl: 'vipd', hosts: ['kam', 'vib'], offset: 0 },
  { title: 'vipd → keepalived', masterImpl: 'vipd', backupImpl: 'keepalived', hosts: ['vim', 'kab'], offset: 10 },
];

describe('VRRP on the wire between vipd and keepalived', { skip: netnsSkip() }, () => {
  let lan: Lan;
  let dir = '';
  const peers: Peer[] = [];
  /** Per exchange: the pcap file captured on the backup, and the backup peer. */
  const results = new Map<string, { pcap: string; backup: Peer; insts: readonly Inst[] }>();

  const instances = (offset: number): Inst[] => [
    { name: 'VI_2P', version: 2, family: 4, vrid: 91 + offset, vips: [lan.addr(141 + offset)], pass: PASSWORD },
    { name: 'VI_2N', version: 2, family: 4, vrid: 92 + offset, vips: [lan.addr(142 + offset), lan.addr(143 + offset)] },
    { name: 'VI_3', version: 3, family: 4, vrid: 93 + offset, vips: [lan.addr(144 + offset)] },
    { name: 'VI_6', version: 3, family: 6, vrid: 94 + offset, vips: [lan.addr6(145 + offset)] },
  ];

  const spec = (i: Inst, role: 'master' | 'backup'): InstanceSpec => ({
    name: i.name,
    state: role === 'master' ? 'MASTER' : 'BACKUP',
    vrid: i.vrid,
    priority: role === 'master' ? MASTER_PRIO : BACKUP_PRIO,
    vips: i.vips.map((v) => `${v}/${i.family === 4 ? 24 : 64}`),
    ...(i.pass !== undefined ? { authPass: i.pass } : {}),
    ...(i.version === 3 ? { extra: ['version 3'] } : {}),
  });

  before(async () => {
    lan = await Lan.create({ hosts: EXCHANGES.flatMap((e) => [...e.hosts]) });
    dir = await mkdtemp(join(tmpdir(), 'vipd-interop-wire-'));
  });

  after(async () => {
    await stopAll(peers);
    await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The master's source address for an instance of `family`. */
  const sourceOf = (host: string, family: 4 | 6): string => (family === 4 ? lan.host(host).ipv4 : lan.host(host).linkLocal);

  async function exchange(e: Exchange): Promise<void> {
    const insts = instances(e.offset);
    const [mh, bh] = e.hosts;
    const conf = (role: 'master' | 'backup', host: string): string =>
      vrrpConf({ routerId: `${lan.id}-${host}`, instances: insts.map((i) => spec(i, role)) });
    const master = await startPeer(e.masterImpl, lan, mh, dir, conf('master', mh));
    peers.push(master);
    await Promise.all(insts.map((i) => master.waitForState(i.name, 'MASTER', 20_000)));
    const pcap = join(dir, `${bh}.pcap`);
    const capture: NsProcess = await startCapture(lan, bh, pcap, 'ip proto 112 or ip6 proto 112');
    try {
      const backup = await startPeer(e.backupImpl, lan, bh, dir, conf('backup', bh));
      peers.push(backup);
      await Promise.all(insts.map((i) => backup.waitForState(i.name, 'BACKUP', 15_000)));
      // Past every backup's Master_Down_Interval: a backup that rejected the adverts would be MASTER.
      await sleep(masterDownIntervalMs(2, BACKUP_PRIO, 1) + 1500);
      for (const i of insts) assert.equal(await backup.state(i.name), 'BACKUP', `${e.title}: ${i.name}\n${backup.tail()}`);
      const kaMark = backup instanceof KeepalivedPeer ? backup.ka.mark() : undefined;
      await master.stop(); // priority 0 from every instance
      await Promise.all(insts.map((i) => backup.waitForState(i.name, 'MASTER', 1000 + MARGIN_MS)));
      if (backup instanceof KeepalivedPeer && kaMark) {
        const lines = backup.ka.linesSince(kaMark);
        for (const i of insts) {
          assert.ok(lines.some((l) => l.includes(`(${i.name}) Backup received priority 0 advertisement`)), `${e.title}: ${i.name}\n${backup.tail()}`);
        }
      }
      await sleep(300); // the backup's first adverts as MASTER are in the capture too
      results.set(e.title, { pcap, backup, insts });
    } finally {
      await stopCapture(capture);
    }
  }

  test('the exchanges: each backup stays BACKUP while the other implementation is MASTER, then takes over on priority 0', async (t) => {
    if (!requireRoot(t)) return;
    await Promise.all(EXCHANGES.map((e) => exchange(e)));
  });

  /** The captured adverts from the master of exchange `e`, decoded by vipd. */
  async function fromMaster(e: Exchange): Promise<Array<CapturedAdvert & { bytes: Buffer }>> {
    const r = results.get(e.title);
    assert.ok(r, `the exchange ${e.title} did not complete`);
    const { records } = await readPcap(r.pcap);
    const sources = new Set([sourceOf(e.hosts[0], 4), sourceOf(e.hosts[0], 6)]);
    const out: Array<CapturedAdvert & { bytes: Buffer }> = [];
    for (const rec of records) {
      const d = decodeFrame(rec.data);
      if (d && sources.has(d.src)) out.push({ ...d, bytes: rec.data });
    }
    return out;
  }

  test('every keepalived advert decodes in vipd, validates, and re-encodes to the same bytes', async (t) => {
    if (!requireRoot(t)) return;
    const e = EXCHANGES[0] as Exchange;
    const r = results.get(e.title);
    assert.ok(r);
    const adverts = await fromMaster(e);
    for (const i of r.insts) {
      const mine = adverts.filter((a) => a.result.ok && a.result.packet.advert.vrid === i.vrid);
      assert.ok(mine.length >= 3, `${i.name}: only ${mine.length} keepalived adverts captured`);
      assert.ok(mine.some((a) => a.result.ok && a.result.packet.advert.priority === 0), `${i.name}: no priority 0 advert captured`);
    }
    const failed = adverts.filter((a) => !a.result.ok);
    assert.deepEqual(failed.map((a) => a.result), [], 'vipd could not decode some keepalived adverts');
    for (const a of adverts) {
      assert.ok(a.result.ok);
      const p: VrrpPacket = a.result.packet;
      const i: Inst | undefined = r.insts.find((x) => x.vrid === p.advert.vrid);
      assert.ok(i, `an advert for VRID ${p.advert.vrid}`);
      assert.equal(p.ttl, 255);
      assert.equal(p.family, i.family);
      assert.equal(p.dst, i.family === 4 ? '224.0.0.18' : 'ff02::12');
      assert.equal(p.checksumForm, i.version === 2 ? 'noPseudoHeader' : 'pseudoHeader');
      assert.deepEqual(
        { version: p.advert.version, addresses: p.advert.addresses, intervalCs: p.advert.intervalCs, authType: p.advert.authType },
        { version: i.version, addresses: i.vips, intervalCs: 100, authType: i.pass !== undefined ? 1 : 0 },
      );
      assert.ok([MASTER_PRIO, 0].includes(p.advert.priority), `priority ${p.advert.priority}`);
      if (i.version === 2) assert.deepEqual(p.advert.authData, authDataFromPassword(i.pass ?? ''));
      // What the daemon checks per instance (see Daemon#newRuntime): all pass, no warnings.
      const v = validate(p, {
        version: i.version,
        intervalCs: 100,
        authType: i.pass !== undefined ? 1 : 0,
        ...(i.pass !== undefined ? { authPass: i.pass } : {}),
        vips: i.vips,
      });
      assert.deepEqual(v, { ok: true, warnings: [] }, `${i.name}`);
      // vipd's encoder produces keepalived's bytes for the same advert.
      const ours = encode(p.advert, { family: p.family, src: p.src, dst: p.dst });
      const theirs = p.family === 4 ? a.bytes.subarray(14 + 20, 14 + 20 + ours.length) : a.bytes.subarray(14 + 40, 14 + 40 + ours.length);
      assert.equal(ours.toString('hex'), theirs.toString('hex'), `${i.name}: re-encoded advert differs from keepalived's`);
    }
  });

  test('vipd as BACKUP accepted every keepalived advert', async (t) => {
    if (!requireRoot(t)) return;
    const r = results.get((EXCHANGES[0] as Exchange).title);
    assert.ok(r && r.backup instanceof VipdPeer);
    const doc = await r.backup.vipd.status();
    for (const i of r.insts) {
      const st = doc.instances.find((x) => x.name === i.name);
      assert.ok(st, i.name);
      assert.ok(st.stats.advertRx >= 3, `${i.name}: ${JSON.stringify(st.stats)}`);
      assert.ok(st.stats.priorityZeroRx >= 1, `${i.name}: ${JSON.stringify(st.stats)}`);
      assert.deepEqual(Object.entries(st.stats.dropped).filter(([, n]) => n !== 0), [], `${i.name} dropped keepalived adverts`);
      assert.equal(st.stats.becameMaster, 1);
    }
  });

  /** tshark's verdict on the adverts from the master of exchange `e`. */
  async function judged(e: Exchange): Promise<TsharkVrrp[]> {
    const r = results.get(e.title);
    assert.ok(r, `the exchange ${e.title} did not complete`);
    const sources = new Set([sourceOf(e.hosts[0], 4), sourceOf(e.hosts[0], 6)]);
    return (await tsharkVrrp(r.pcap)).filter((f) => sources.has(f.src));
  }

  const instsOf = (e: Exchange): readonly Inst[] => {
    const r = results.get(e.title);
    assert.ok(r, `the exchange ${e.title} did not complete`);
    return r.insts;
  };

  function assertClean(frames: readonly TsharkVrrp[], insts: readonly Inst[], who: string): void {
    for (const i of insts) {
      const mine = frames.filter((f) => f.vrid === String(i.vrid));
      assert.ok(mine.length >= 3, `${who} ${i.name}: only ${mine.length} adverts in the capture`);
      assert.ok(mine.some((f) => f.prio === '0'), `${who} ${i.name}: no priority 0 advert`);
      for (const f of mine) {
        assert.deepEqual(
          {
            version: f.version, count: f.count, addresses: f.addresses, interval: f.interval, auth: f.auth,
            checksum: f.checksum, ipChecksum: f.ipChecksum, malformed: f.malformed, expert: f.expert, ttl: f.ttl,
            dst: f.dst,
          },
          {
            version: String(i.version), count: String(i.vips.length), addresses: i.vips.join(','),
            interval: i.version === 2 ? '1' : '100', auth: i.pass ?? '',
            checksum: '1', ipChecksum: i.family === 4 ? '1' : '', malformed: '', expert: '', ttl: '255',
            dst: i.family === 4 ? '224.0.0.18' : 'ff02::12',
          },
          `${who} ${i.name}: ${JSON.stringify(f)}`,
        );
      }
    }
  }

  test('every vipd advert is clean in tshark: good checksums, not malformed, no expert info', async (t) => {
    if (!requireRoot(t)) return;
    const e = EXCHANGES[1] as Exchange;
    const frames = await judged(e);
    assertClean(frames, instsOf(e), 'vipd');
  });

  test('control: tshark finds keepalived adverts clean with the same settings', async (t) => {
    if (!requireRoot(t)) return;
    const e = EXCHANGES[0] as Exchange;
    assertClean(await judged(e), instsOf(e), 'keepalived');
  });

  test("vipd's IP headers match keepalived's: TOS/traffic class, TTL/hop limit, IPv4 flags", async (t) => {
    if (!requireRoot(t)) return;
    const [ka, vi] = await Promise.all([judged(EXCHANGES[0] as Exchange), judged(EXCHANGES[1] as Exchange)]);
    const shape = (frames: readonly TsharkVrrp[], family: 4 | 6): string[] =>
      [...new Set(frames.filter((f) => f.src.includes(':') === (family === 6)).map((f) => `tos ${f.tos} flags ${f.ipFlags} ttl ${f.ttl}`))];
    for (const family of [4, 6] as const) {
      const k = shape(ka, family);
      assert.equal(k.length, 1, `keepalived IPv${family} headers vary: ${k.join('; ')}`);
      assert.deepEqual(shape(vi, family), k, `IPv${family}`);
    }
  });

  test('keepalived as BACKUP accepted every vipd advert and complained of nothing', async (t) => {
    if (!requireRoot(t)) return;
    const r = results.get((EXCHANGES[1] as Exchange).title);
    assert.ok(r && r.backup instanceof KeepalivedPeer);
    assertKeepalivedContent(r.backup.ka);
    for (const i of r.insts) assert.equal(r.backup.ka.entered(i.name, 'MASTER'), 1, `${i.name}: MASTER only after vipd stopped\n${r.backup.tail()}`);
  });
});
