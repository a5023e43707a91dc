// The configs keepalived ships as samples (Debian keepalived 2.2.7,
// /usr/share/doc/keepalived/samples, copied to test/fixtures/configs/keepalived-samples)
// are accepted with warnings only; LVS blocks are skipped and reported once.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { loadConfig, type Config, type VrrpInstance } from '../../src/config/index.js';

const dir = fileURLToPath(new URL('../../../test/fixtures/configs/keepalived-samples/', import.meta.url));

function load(name: string, configId = 'test'): { config: Config; warnings: string[] } {
  const res = loadConfig(dir + name, { configId, hostname: 'testhost' });
  assert.deepEqual(
    res.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}:${d.col} ${d.message}`),
    [],
    `${name} has errors`,
  );
  assert.ok(res.config);
  return { config: res.config, warnings: res.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`) };
}

function inst(c: Config, name: string): VrrpInstance {
  const i = c.instances.find((x) => x.name === name);
  assert.ok(i, `instance ${name} missing`);
  return i;
}

describe('keepalived sample configs', () => {
  const samples = readdirSync(dir).filter((f) => f.startsWith('keepalived.conf'));

  it('all 25 samples are present', () => {
    assert.equal(samples.length, 25);
  });

  for (const f of samples) {
    it(`${f} is accepted with warnings only`, () => {
      load(f);
    });
  }

  it('LVS blocks are skipped as a whole and reported once per keyword', () => {
    const { config, warnings } = load('keepalived.conf.virtual_server_group');
    assert.deepEqual(
      config.ignoredBlocks.map((b) => [b.keyword, b.name, b.loc.line]),
      [
        ['virtual_server_group', 'VSG_1', 13],
        ['virtual_server', 'group VSG_1', 22],
      ],
    );
    assert.deepEqual(warnings.filter((w) => w.includes('not handled by vipd')).length, 2);
    assert.equal(config.instances.length, 0);
    const quorum = load('keepalived.conf.quorum');
    assert.equal(quorum.config.ignoredBlocks.length, 1);
    assert.equal(quorum.warnings.filter((w) => w.includes("'virtual_server' is not handled by vipd")).length, 1);
    assert.equal(quorum.warnings.length, 1, 'nothing inside the skipped block is reported');
  });

  it('keepalived.conf.sample: no state → BACKUP; nopreempt kept', () => {
    const i = inst(load('keepalived.conf.sample').config, 'VI_1');
    assert.deepEqual([i.initialState, i.priority, i.preempt, i.vrid], ['BACKUP', 100, false, 50]);
    assert.equal(i.vips.length, 3);
  });

  it('keepalived.conf.vrrp: four instances, garp_master_delay 10 on VI_1, VI_2 has no auth', () => {
    const c = load('keepalived.conf.vrrp').config;
    assert.deepEqual(
      c.instances.map((i) => [i.name, i.interface, i.vrid, i.initialState, i.priority]),
      [
        ['VI_1', 'eth0', 51, 'MASTER', 100],
        ['VI_2', 'eth0', 50, 'BACKUP', 50],
        ['VI_3', 'eth1', 52, 'MASTER', 100],
        ['VI_4', 'eth1', 53, 'BACKUP', 50],
      ],
    );
    const v1 = inst(c, 'VI_1');
    assert.equal(v1.garp.masterDelayMs, 10_000);
    assert.equal(v1.garp.lowerPrioDelayMs, 5000, 'lower-prio delay comes from the global default, not garp_master_delay');
    assert.equal(v1.smtpAlert, true);
    assert.deepEqual(
      v1.vips.map((v) => [v.address, v.label]),
      [
        ['192.168.200.16', undefined],
        ['192.168.200.17', undefined],
        ['192.168.200.18', undefined],
        ['192.168.200.18', 'eth0:1'],
      ],
    );
    assert.equal(inst(c, 'VI_2').auth, null);
  });

  it('keepalived.conf.SSL_GET: AH with state MASTER below 255 starts as BACKUP (keepalived does the same)', () => {
    const { config, warnings } = load('keepalived.conf.SSL_GET');
    const i = inst(config, 'VI_1');
    assert.deepEqual(i.auth, { type: 'AH', password: '1111' });
    assert.equal(i.initialState, 'BACKUP');
    assert.ok(warnings.some((w) => w.startsWith('14:5 ') && w.includes('AH')));
  });

  it('keepalived.conf.vrrp.localcheck: weights from scripts and references, track_interface weights', () => {
    const c = load('keepalived.conf.vrrp.localcheck').config;
    assert.equal(c.scripts.length, 5);
    const http = c.scripts.find((s) => s.name === 'chk_http_port');
    assert.ok(http);
    assert.equal(http.command.viaShell, true, '"</dev/tcp/..." is run by keepalived through /bin/sh');
    const v1 = inst(c, 'VI_1');
    assert.deepEqual(
      v1.trackInterfaces.map((t) => [t.name, t.weight]),
      [
        ['eth1', 2],
        ['eth2', -2],
        ['eth3', 0],
      ],
    );
    assert.deepEqual(
      v1.trackScripts.map((t) => [t.name, t.weight]),
      [
        ['chk_sshd', -4],
        ['chk_haproxy', 2],
        ['chk_http_port', -2],
        ['chk_https_port', -2],
        ['chk_smtp_port', -2],
      ],
    );
    const sshd = c.scripts.find((s) => s.name === 'chk_sshd');
    assert.deepEqual([sshd?.intervalMs, sshd?.fall, sshd?.rise, sshd?.command.argv], [2000, 2, 2, ['killall', '-0', 'sshd']]);
    assert.equal(inst(c, 'VI_3').initialState, 'BACKUP');
  });

  it('keepalived.conf.vrrp.sync: groups, members and no weight problems', () => {
    const c = load('keepalived.conf.vrrp.sync').config;
    assert.deepEqual(
      c.syncGroups.map((g) => [g.name, g.instances]),
      [
        ['G1', ['VI_1', 'VI_2', 'VI_5', 'VI_6', 'VI_7', 'VI_8', 'VI_9']],
        ['G2', ['VI_3', 'VI_4']],
      ],
    );
    const g1 = c.syncGroups[0];
    assert.deepEqual(g1?.notify.master?.argv, ['/usr/local/bin/vrrp.mast', 'arg1', 'arg2']);
    assert.equal(inst(c, 'VI_4').syncGroup, 'G2');
  });

  it('keepalived.conf.vrrp.lvs_syncd: members outside group { } are reported and the empty group dropped', () => {
    const { config, warnings } = load('keepalived.conf.vrrp.lvs_syncd');
    assert.equal(config.syncGroups.length, 0);
    assert.ok(warnings.some((w) => w.startsWith('4:3 ') && w.includes("'VI_2'") && w.includes('group { ... }')));
    assert.ok(warnings.some((w) => w.startsWith('11:5 ') && w.includes('lvs_sync_daemon_interface')));
    assert.equal(inst(config, 'VI_1').auth?.password, 'grr02');
  });

  it('keepalived.conf.vrrp.scripts: notify commands split like keepalived (quoted command, double spaces)', () => {
    const c = load('keepalived.conf.vrrp.scripts').config;
    const i = inst(c, 'VI_1');
    assert.deepEqual(i.notify.backup?.argv, ['/usr/local/bin/vrrp.sh', 'BACKUP', 'VI_1']);
    assert.equal(i.notify.backup?.user, null);
    assert.deepEqual(i.notify.fault?.argv, ['/usr/local/bin/vrrp.sh', 'FAULT', 'VI_1']);
    assert.deepEqual(c.syncGroups[0]?.instances, ['VI_2', 'VI_3']);
  });

  it('keepalived.conf.vrrp.routes / rules: virtual_routes and virtual_rules kept as data', () => {
    const routes = inst(load('keepalived.conf.vrrp.routes').config, 'VI_1');
    assert.equal(routes.virtualRoutes.length, 7);
    assert.deepEqual(routes.virtualRoutes[6]?.words, ['0.0.0.0/0', 'gw', '192.168.0.1', 'table', '100']);
    assert.deepEqual(routes.vips.map((v) => v.dev), [undefined, 'eth1', 'eth2']);
    const rules = inst(load('keepalived.conf.vrrp.rules').config, 'VI_1');
    assert.deepEqual(rules.virtualRules.map((r) => r.words.join(' ')), ['from 192.168.200.0/24 table 2', 'to 192.168.200./24 table 2']);
  });

  it('keepalived.conf.conditional_conf: -i high / -i low pick their lines', () => {
    const high = load('keepalived.conf.conditional_conf', 'high');
    const hi = inst(high.config, 'VI_0');
    assert.equal(hi.priority, 170);
    assert.equal(high.config.scripts[0]?.command.text, '/etc/keepalived/scripts/check_high_VI_0.sh');
    assert.deepEqual(
      [hi.version, hi.advertIntervalMs, hi.vmac, hi.trackScripts.map((t) => t.name)],
      [3, 12_000, { ifname: null, mac: null, xmitBase: false }, ['check_VI_0']],
    );
    assert.deepEqual(hi.trackInterfaces.map((t) => [t.name, t.weight]), [
      ['eth3', 0],
      ['eth2', 20],
    ]);
    assert.ok(high.warnings.some((w) => w.startsWith('3:7 ') && w.includes("'net_namespace'")));
    const s = high.config.scripts[0];
    assert.deepEqual([s?.intervalMs, s?.timeoutMs, s?.rise, s?.fall], [1000, 10_000, 3, 3]);

    const low = load('keepalived.conf.conditional_conf', 'low');
    assert.equal(inst(low.config, 'VI_0').priority, 85);
    assert.equal(low.config.scripts[0]?.command.text, '/etc/keepalived/scripts/check_low_VI_0.sh');

    // Neither id: like keepalived, the script has no 'script' line and is dropped (warnings only).
    const none = load('keepalived.conf.conditional_conf', 'other');
    const ni = inst(none.config, 'VI_0');
    assert.equal(ni.priority, 100);
    assert.equal(none.config.scripts.length, 0);
    assert.equal(ni.trackScripts.length, 0);
    assert.ok(none.warnings.some((w) => w.includes("has no 'script' line")));
  });
});
