// The seed configs (keepalived + nginx blog posts, test/fixtures/configs/seeds) parse
// without errors and give the values keepalived would run with.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { loadConfig, loadConfigAsync, type Config, type VrrpInstance } from '../../src/config/index.js';

const dir = fileURLToPath(new URL('../../../test/fixtures/configs/seeds/', import.meta.url));

function load(name: string): Config {
  const res = loadConfig(dir + name, { configId: 'test', hostname: 'testhost' });
  const errors = res.diagnostics.filter((d) => d.severity === 'error');
  assert.deepEqual(errors, [], `${name} has errors`);
  assert.ok(res.config, `${name} has no model`);
  return res.config;
}

function inst(c: Config, name: string): VrrpInstance {
  const i = c.instances.find((x) => x.name === name);
  assert.ok(i, `instance ${name} missing`);
  return i;
}

describe('seed configs', () => {
  const seeds = readdirSync(dir).filter((f) => f.endsWith('.conf'));

  it('all 14 seed configs are present', () => {
    assert.equal(seeds.length, 14);
  });

  for (const f of seeds) {
    it(`${f} parses with no error and no parse warning`, () => {
      const res = loadConfig(dir + f, { configId: 'test' });
      assert.deepEqual(
        res.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`),
        [],
      );
      assert.ok(res.config);
      assert.ok(res.config.instances.length >= 1);
    });
  }

  it('seed000-master: the MASTER with a weighted nginx check', () => {
    const c = load('seed000-master.conf');
    assert.equal(c.global.routerId, 'HAmaster-129');
    assert.deepEqual(c.global.notificationEmail, [], 'commented-out email block is not read');
    const s = c.scripts[0];
    assert.ok(s);
    assert.equal(s.name, 'chk_http_port');
    assert.deepEqual(s.command.argv, ['/root/software/chk_nginx.sh']);
    assert.equal(s.intervalMs, 2000);
    assert.equal(s.timeoutMs, 2000, 'no timeout: the interval');
    assert.equal(s.weight, -5);
    assert.equal(s.fall, 2);
    assert.equal(s.rise, 1);
    const i = inst(c, 'VI_1');
    assert.equal(i.initialState, 'MASTER');
    assert.equal(i.interface, 'ens33');
    assert.equal(i.sourceAddress, '192.168.64.129');
    assert.equal(i.vrid, 51);
    assert.equal(i.priority, 101);
    assert.equal(i.advertIntervalMs, 1000);
    assert.equal(i.version, 2);
    assert.equal(i.family, 4);
    assert.equal(i.preempt, true);
    assert.deepEqual(i.auth, { type: 'PASS', password: '1111' });
    assert.equal(i.mcastDestination, '224.0.0.18');
    assert.deepEqual(
      i.vips.map((v) => [v.address, v.prefixLength, v.dev, v.label]),
      [['192.168.64.128', 32, undefined, undefined]],
    );
    assert.deepEqual(
      i.trackScripts.map((t) => [t.name, t.weight, t.reverse]),
      [['chk_http_port', -5, false]],
    );
    assert.deepEqual(i.garp, {
      masterDelayMs: 5000,
      masterRepeat: 5,
      masterRefreshMs: 0,
      masterRefreshRepeat: 1,
      lowerPrioDelayMs: 5000,
      lowerPrioRepeat: 5,
    });
    assert.deepEqual(
      { line: i.loc.line, col: i.loc.col, vridAt: i.keywordLocs['virtual_router_id']?.line },
      { line: 21, col: 1, vridAt: 25 },
    );
  });

  it('seed000-backup: BACKUP, priority 99, same VRID, VIP and password as the master', () => {
    const i = inst(load('seed000-backup.conf'), 'VI_1');
    assert.equal(i.initialState, 'BACKUP');
    assert.equal(i.priority, 99);
    assert.equal(i.vrid, 51);
    assert.equal(i.sourceAddress, '192.168.64.130');
    assert.deepEqual(i.auth, { type: 'PASS', password: '1111' });
    assert.equal(i.vips[0]?.address, '192.168.64.128');
  });

  it('seed000 dual-master pair: the two instances mirror each other', () => {
    const m = load('seed000-master-dual.conf');
    const b = load('seed000-backup-dual.conf');
    assert.deepEqual(
      m.instances.map((i) => [i.name, i.vrid, i.initialState, i.priority]),
      [
        ['VI_1', 51, 'MASTER', 101],
        ['VI_2', 52, 'BACKUP', 90],
      ],
    );
    assert.deepEqual(
      b.instances.map((i) => [i.name, i.vrid, i.initialState, i.priority]),
      [
        ['VI_1', 51, 'BACKUP', 99],
        ['VI_2', 52, 'MASTER', 100],
      ],
    );
    assert.equal(inst(m, 'VI_2').trackScripts.length, 0);
    assert.equal(inst(m, 'VI_2').vips[0]?.address, '192.168.139.127');
  });

  it('seed001: VIPs with /24, dev and label; email settings kept', () => {
    const c = load('seed001-lb01-dual.conf');
    assert.equal(c.global.routerId, 'lb01');
    assert.deepEqual(c.global.notificationEmail, ['3306684360@qq.com']);
    assert.equal(c.global.notificationEmailFrom, 'Alexandre.Cassen@firewall.loc');
    assert.deepEqual(c.global.smtpServer, { host: '127.0.0.1', port: 25 });
    assert.equal(c.global.smtpConnectTimeoutMs, 30_000);
    const v1 = inst(c, 'VI_1');
    assert.equal(v1.vrid, 55);
    assert.equal(v1.priority, 150);
    assert.deepEqual(
      v1.vips.map((v) => [v.address, v.prefixLength, v.dev, v.label]),
      [['192.168.200.160', 24, 'eth1', 'eth1:1']],
    );
    const v2 = inst(c, 'VI_2');
    assert.deepEqual([v2.vrid, v2.initialState, v2.priority], [56, 'BACKUP', 100]);
    assert.equal(v2.vips[0]?.label, 'eth1:2');
    const lb02 = load('seed001-lb02-dual.conf');
    assert.deepEqual(
      lb02.instances.map((i) => [i.name, i.vrid, i.initialState, i.priority]),
      [
        ['VI_1', 55, 'BACKUP', 100],
        ['VI_2', 56, 'MASTER', 150],
      ],
    );
  });

  it('seed002: VI_2 of lb01-dual has a /32 VIP where lb02-dual has /24 (the lint case)', () => {
    const lb01 = load('seed002-lb01-dual.conf');
    const lb02 = load('seed002-lb02-dual.conf');
    assert.deepEqual(
      inst(lb01, 'VI_2').vips.map((v) => [v.address, v.prefixLength, v.dev, v.label]),
      [['192.168.178.4', 32, 'ens33', 'ens33:4']],
    );
    assert.deepEqual(
      inst(lb02, 'VI_2').vips.map((v) => [v.address, v.prefixLength, v.dev, v.label]),
      [['192.168.178.4', 24, 'ens33', 'ens33:4']],
    );
    assert.deepEqual([inst(lb01, 'VI_1').vips[0]?.prefixLength, inst(lb01, 'VI_1').priority], [24, 150]);
    const single = load('seed002-lb01.conf');
    assert.equal(inst(single, 'VI_1').vips[0]?.label, 'ens33:3');
    assert.equal(inst(load('seed002-lb02.conf'), 'VI_1').priority, 100);
  });

  it('seed003: the master says VRID 51, the backup 61 (the split-brain case)', () => {
    const m = inst(load('seed003-master.conf'), 'VI_1');
    const b = inst(load('seed003-backup.conf'), 'VI_1');
    assert.deepEqual([m.vrid, m.initialState, m.priority, m.interface], [51, 'MASTER', 100, 'eth0']);
    assert.deepEqual([b.vrid, b.initialState, b.priority, b.interface], [61, 'BACKUP', 99, 'eth0']);
    assert.equal(b.vips[0]?.address, '192.168.1.100');
  });

  it('seed003-master-check: script with weight -2 and interval 1', () => {
    const c = load('seed003-master-check.conf');
    assert.equal(c.global.routerId, 'NGINX_UPSTEAM');
    assert.deepEqual(
      c.scripts.map((s) => [s.name, s.command.text, s.intervalMs, s.weight, s.rise, s.fall]),
      [['chk_http_port', '/opt/chk_nginx.sh', 1000, -2, 1, 1]],
    );
    assert.deepEqual(inst(c, 'VI_1').trackScripts.map((t) => [t.name, t.weight]), [['chk_http_port', -2]]);
  });

  it('seed004: the shell one-liner is kept as keepalived splits it (no shell)', () => {
    const c = load('seed004.conf');
    const s = c.scripts[0];
    assert.ok(s);
    assert.equal(s.command.text, '[[ -f /etc/keepalived/monitor_nginx.sh ]] && exit 1 || exit 0');
    assert.deepEqual(s.command.argv, ['[[', '-f', '/etc/keepalived/monitor_nginx.sh', ']]', '&&', 'exit', '1', '||', 'exit', '0']);
    assert.equal(s.command.viaShell, false);
    assert.equal(s.weight, -15);
    const i = inst(c, 'VI_1');
    assert.deepEqual(
      i.vips.map((v) => `${v.address}/${v.prefixLength}`),
      ['192.168.200.16/32', '192.168.200.17/32', '192.168.200.18/32'],
    );
    assert.deepEqual(c.global.notificationEmail, ['zhumingwu@126.com'], 'the comment after the address is not part of it');
    assert.deepEqual(i.trackScripts.map((t) => [t.name, t.weight]), [['monitor_nginx', -15]]);
  });

  it('loadConfigAsync gives the same result as loadConfig', async () => {
    for (const f of seeds) {
      const a = loadConfig(dir + f, { configId: 'x', hostname: 'h' });
      const b = await loadConfigAsync(dir + f, { configId: 'x', hostname: 'h' });
      assert.deepEqual(b, a, f);
    }
  });
});
