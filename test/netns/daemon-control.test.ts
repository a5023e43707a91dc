/**
 * The operator's side of a running pair (issue 4): `vipctl status --json` follows the
 * status contract of DESIGN.md with the values the LAN implies, the counters count
 * (including adverts dropped by reason), the control socket refuses a non-root user,
 * and `vipd -t` accepts every example in conf/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { InstanceStatus, StatusDocument } from '../../src/control/status.js';
import { Lan, netnsSkip } from '../helpers/netns.js';
import { NetAgent } from '../helpers/ns-agent.js';
import { vrrp2Advert } from '../helpers/ns-packets.js';
import { REPO_ROOT, sleep, VIPCTL_BIN, VIPD_BIN, VipdHost, vrrpConf, type InstanceSpec } from '../helpers/vipd.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, [...args], { timeout: 20_000, cwd: REPO_ROOT }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

const DROP_REASONS = ['ttl', 'checksum', 'version', 'auth', 'length', 'interval', 'vrid'] as const;
const STAT_KEYS = ['advertRx', 'advertTx', 'becameMaster', 'releasedMaster', 'priorityZeroRx', 'priorityZeroTx'] as const;

/** Every field of DESIGN.md's contract, with its type; returns the instance for value checks. */
function checkContract(doc: StatusDocument): void {
  assert.equal(typeof doc.routerId, 'string');
  assert.ok(Number.isInteger(doc.pid) && doc.pid > 0);
  assert.ok(typeof doc.uptimeSec === 'number' && doc.uptimeSec >= 0);
  assert.ok(Array.isArray(doc.instances));
  for (const i of doc.instances) {
    assert.equal(typeof i.name, 'string');
    assert.ok(Number.isInteger(i.vrid) && i.vrid >= 1 && i.vrid <= 255);
    assert.equal(typeof i.interface, 'string');
    assert.ok(i.version === 2 || i.version === 3);
    assert.ok(['INIT', 'BACKUP', 'MASTER', 'FAULT'].includes(i.state), i.state);
    assert.ok(Number.isInteger(i.basePriority) && Number.isInteger(i.effectivePriority));
    assert.ok(Array.isArray(i.vips) && i.vips.every((v: string) => /^[0-9a-f.:]+\/\d+$/.test(v)), JSON.stringify(i.vips));
    if (i.master !== null) {
      assert.deepEqual(Object.keys(i.master).sort(), ['address', 'priority']);
      assert.equal(typeof i.master.address, 'string');
      assert.equal(typeof i.master.priority, 'number');
    }
    if (i.lastTransition !== null) {
      for (const k of ['from', 'to', 'at', 'reason'] as const) assert.equal(typeof i.lastTransition[k], 'string', k);
      assert.equal(new Date(i.lastTransition.at).toISOString(), i.lastTransition.at, 'at is an ISO timestamp');
    }
    assert.ok(Array.isArray(i.trackers));
    for (const t of i.trackers) {
      assert.ok(['script', 'interface', 'file'].includes(t.kind));
      assert.equal(typeof t.name, 'string');
      assert.equal(typeof t.status, 'string');
      assert.equal(typeof t.weight, 'number');
    }
    for (const k of STAT_KEYS) assert.ok(Number.isInteger(i.stats[k]) && i.stats[k] >= 0, k);
    for (const k of DROP_REASONS) assert.ok(Number.isInteger(i.stats.dropped[k]), `stats.dropped.${k}`);
  }
}

describe('vipctl and the control socket against running daemons', { skip: netnsSkip() }, () => {
  let lan: Lan;
  let dir: string;
  let h1: VipdHost;
  let h2: VipdHost;
  let vip: string;

  const instance = (priority: number, state: 'MASTER' | 'BACKUP'): InstanceSpec => ({
    name: 'VI_1',
    state,
    vrid: 51,
    priority,
    authPass: 'ctl',
    vips: [`${vip}/24`],
    extra: ['track_interface {', '    lo weight -10', '}'],
  });

  before(async () => {
    lan = await Lan.create();
    dir = await mkdtemp(join(tmpdir(), 'vipd-control-'));
    vip = lan.addr(100);
    // Others may pass through the temp dir, and h1's socket directory starts world-readable:
    // only the daemon's own permissions can keep a non-root user out.
    await chmod(dir, 0o711);
    await mkdir(join(dir, 'run'), { mode: 0o755 });
    await chmod(join(dir, 'run'), 0o755);
    // The master first: a backup started alone would (rightly) become MASTER after its down timer.
    h1 = await VipdHost.start(lan, 'h1', dir, vrrpConf({ routerId: 'lb01', instances: [instance(150, 'MASTER')] }), {
      socket: join(dir, 'run', 'vipd.sock'),
    });
    await h1.waitForState('VI_1', 'MASTER');
    h2 = await VipdHost.start(lan, 'h2', dir, vrrpConf({ routerId: 'lb02', instances: [instance(100, 'BACKUP')] }), {
      socket: join(dir, 'run-h2', 'vipd.sock'),
    });
    await h2.waitForBackupOf('VI_1', lan.host('h1').ipv4);
  });

  after(async () => {
    await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('vipctl status --json matches the status contract, with the values of this LAN', async () => {
    const r = await run(process.execPath, [VIPCTL_BIN, '--socket', h1.socket, 'status', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as StatusDocument;
    checkContract(doc);
    assert.equal(doc.routerId, 'lb01');
    assert.equal(doc.pid, h1.pid);
    assert.ok(doc.uptimeSec < 600);
    assert.equal(doc.instances.length, 1);
    const i = doc.instances[0] as InstanceStatus;
    const h1ip = lan.host('h1').ipv4;
    assert.deepEqual(
      {
        name: i.name, vrid: i.vrid, interface: i.interface, version: i.version, state: i.state,
        basePriority: i.basePriority, effectivePriority: i.effectivePriority, vips: i.vips, master: i.master,
        trackers: i.trackers,
      },
      {
        name: 'VI_1', vrid: 51, interface: 'eth0', version: 2, state: 'MASTER',
        basePriority: 150, effectivePriority: 150, vips: [`${vip}/24`], master: { address: h1ip, priority: 150 },
        trackers: [{ kind: 'interface', name: 'lo', status: 'UP', weight: -10 }],
      },
    );
    assert.equal(i.lastTransition?.to, 'MASTER');
    assert.ok((i.lastTransition?.reason ?? '').length > 0);
    assert.ok(Math.abs(Date.parse(i.lastTransition?.at ?? '') - Date.now()) < 120_000);
    assert.ok(i.stats.advertTx >= 1 && i.stats.becameMaster === 1, JSON.stringify(i.stats));

    const b = await h2.instance('VI_1');
    assert.equal(b.state, 'BACKUP');
    assert.deepEqual(b.master, { address: h1ip, priority: 150 });
    assert.ok(b.stats.advertRx >= 1, JSON.stringify(b.stats));
    assert.equal(b.stats.advertTx, 0, `a BACKUP sends no adverts\n${h2.tail(80)}`);

    const table = await run(process.execPath, [VIPCTL_BIN, '--socket', h1.socket, 'status']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^VI_1\s+51\s+eth0\s+MASTER\s+150\/150\s+/m);
  });

  test('adverts that fail a check are counted under their reason and change nothing', async () => {
    const agent = await NetAgent.start(lan, 'client');
    await agent.call('transport.open', { family: 4 });
    const before = await h2.instance('VI_1');
    const beforeDoc = await h2.status();
    const src = lan.host('client').ipv4;
    // No authentication where PASS is configured, at a priority that would win if accepted.
    for (let n = 0; n < 3; n++) {
      await agent.call('transport.send', { family: 4, hex: vrrp2Advert(51, 250, [vip]).toString('hex'), src, dst: '224.0.0.18' });
      await agent.call('transport.send', { family: 4, hex: vrrp2Advert(99, 250, [vip]).toString('hex'), src, dst: '224.0.0.18' });
      await sleep(100);
    }
    await sleep(500);
    await agent.stop();
    const after = await h2.instance('VI_1');
    assert.equal(after.stats.dropped['auth'], (before.stats.dropped['auth'] ?? 0) + 3, JSON.stringify(after.stats));
    assert.equal((await h2.status()).dropped['vrid'], (beforeDoc.dropped['vrid'] ?? 0) + 3);
    assert.deepEqual(after.master, before.master, 'a dropped advert must not be taken as a master');
    assert.equal((await h1.instance('VI_1')).state, 'MASTER');

    const s = await run(process.execPath, [VIPCTL_BIN, '--socket', h2.socket, 'stats', '--json']);
    assert.equal(s.code, 0, s.stderr);
    const stats = JSON.parse(s.stdout) as { instances: Array<{ name: string; stats: { dropped: Record<string, number> } }> };
    assert.equal(stats.instances[0]?.stats.dropped['auth'], after.stats.dropped['auth']);
  });

  test('the control socket refuses a non-root user', async () => {
    const sockStat = await stat(h1.socket);
    const dirStat = await stat(dirname(h1.socket));
    assert.equal(sockStat.mode & 0o777, 0o600, 'socket mode');
    assert.equal(dirStat.mode & 0o777, 0o700, 'vipd closes the socket directory to others');
    assert.equal((await stat(dirname(dirname(h1.socket)))).mode & 0o001, 0o001, 'others may pass through the temp dir');
    const r = await run('setpriv', [
      '--reuid=65534', '--regid=65534', '--clear-groups', '--',
      process.execPath, VIPCTL_BIN, '--socket', h1.socket, 'status', '--json',
    ]);
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /cannot connect to .*: EACCES \(the control socket is root-only\)/);
    // The same command as root works, so the refusal is about the user.
    const ok = await run(process.execPath, [VIPCTL_BIN, '--socket', h1.socket, 'status', '--json']);
    assert.equal(ok.code, 0, ok.stderr);
  });

  test('vipd -t accepts every example in conf/ (run where eth0 exists)', async () => {
    const files = (await readdir(join(REPO_ROOT, 'conf'))).filter((f) => f.endsWith('.conf')).sort();
    assert.ok(files.length >= 4, files.join(', '));
    for (const f of files) {
      const r = await run('ip', ['netns', 'exec', lan.host('client').ns, process.execPath, VIPD_BIN, '-t', '-f', join(REPO_ROOT, 'conf', f)]);
      assert.equal(r.code, 0, `${f}:\n${r.stderr}`);
      assert.match(r.stderr, /configuration OK \(0 errors/, f);
      assert.doesNotMatch(r.stderr, /: error: /, f);
    }
  });
});
