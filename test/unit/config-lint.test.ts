// lintCluster: the configs of one cluster's hosts, checked against each other.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { lintCluster, loadConfig, parseConfigText, type Config } from '../../src/config/index.js';

const seeds = fileURLToPath(new URL('../../../test/fixtures/configs/seeds/', import.meta.url));

function seed(name: string): { file: string; config: Config } {
  const r = loadConfig(name, { cwd: seeds, configId: 'x' });
  assert.ok(r.config, name);
  return { file: name, config: r.config };
}

function text(file: string, body: string): { file: string; config: Config } {
  const r = parseConfigText(body, { file });
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), [], file);
  return { file, config: r.config };
}

const show = (c: ReturnType<typeof lintCluster>): string[] => c.map((d) => `${d.file}:${d.line}:${d.col} ${d.severity} ${d.message}`);

function host(file: string, opts: { vrid?: number; prio?: number; state?: string; vip?: string; pass?: string; advert?: number; name?: string; extra?: string } = {}): { file: string; config: Config } {
  return text(
    file,
    [
      `vrrp_instance ${opts.name ?? 'VI_1'} {`,
      opts.state !== undefined ? `    state ${opts.state}` : '    state BACKUP',
      '    interface eth0',
      `    virtual_router_id ${opts.vrid ?? 51}`,
      `    priority ${opts.prio ?? 100}`,
      `    advert_int ${opts.advert ?? 1}`,
      '    authentication {',
      '        auth_type PASS',
      `        auth_pass ${opts.pass ?? '1111'}`,
      '    }',
      '    virtual_ipaddress {',
      `        ${opts.vip ?? '10.0.0.50/24'}`,
      '    }',
      opts.extra ?? '',
      '}',
      '',
    ].join('\n'),
  );
}

describe('lintCluster on the seeds', () => {
  it('seed000 master/backup: nothing to say', () => {
    assert.deepEqual(lintCluster([seed('seed000-master.conf'), seed('seed000-backup.conf')]), []);
    assert.deepEqual(lintCluster([seed('seed000-master-dual.conf'), seed('seed000-backup-dual.conf')]), []);
    assert.deepEqual(lintCluster([seed('seed001-lb01-dual.conf'), seed('seed001-lb02-dual.conf')]), []);
    assert.deepEqual(lintCluster([seed('seed002-lb01.conf'), seed('seed002-lb02.conf')]), []);
  });

  it('seed003: VRID 51 on the master, 61 on the backup is a split brain', () => {
    assert.deepEqual(show(lintCluster([seed('seed003-master.conf'), seed('seed003-backup.conf')])), [
      "seed003-backup.conf:15:5 error VI_1: virtual_router_id 61 here but 51 in seed003-master.conf:15: the hosts ignore each other's adverts and both become MASTER (split brain)",
    ]);
    const withCheck = lintCluster([seed('seed003-master-check.conf'), seed('seed003-backup.conf')]);
    assert.equal(withCheck.filter((d) => d.severity === 'error').length, 1);
  });

  it('seed002 dual: VI_2 has /32 on lb01 and /24 on lb02', () => {
    assert.deepEqual(show(lintCluster([seed('seed002-lb01-dual.conf'), seed('seed002-lb02-dual.conf')])), [
      'seed002-lb02-dual.conf:34:5 error VI_2: virtual_ipaddress differs from seed002-lb01-dual.conf:31: here 192.168.178.4/24, there 192.168.178.4/32; the VIP gets a different prefix length depending on which host is MASTER',
    ]);
  });
});

describe('lintCluster checks', () => {
  it('a consistent pair: nothing', () => {
    assert.deepEqual(lintCluster([host('a', { state: 'MASTER', prio: 150 }), host('b', { prio: 100 })]), []);
  });

  it('auth password, advert_int and version mismatches are errors', () => {
    const r = show(lintCluster([host('a', { prio: 150 }), host('b', { pass: '2222', advert: 2 })]));
    assert.deepEqual(r, [
      "b:6:5 error VI_1: advert_int 2 s here but 1 s in a:6: VRRPv2 drops adverts with another interval, and the master-down timers disagree",
      'b:7:5 error VI_1: auth_pass differs from a:7 (only the first 8 characters count): adverts are dropped as unauthenticated',
    ]);
    const v = show(lintCluster([host('a', { prio: 150 }), host('b', { extra: '    version 3' })]));
    assert.equal(v.length, 2, v.join('\n'));
    assert.match(v[0] ?? '', /^b:14:5 error VI_1: VRRP version 3 here but 2/);
    assert.match(v[1] ?? '', /authentication none here but PASS/);
  });

  it('different VIP addresses are a split brain', () => {
    const r = show(lintCluster([host('a', { prio: 150 }), host('b', { vip: '10.0.0.51/24', name: 'VI_1' })]));
    assert.equal(r.length, 1);
    assert.match(r[0] ?? '', /^b:12:9 error VI_1: virtual_ipaddress differs .* here 10\.0\.0\.51\/24, there 10\.0\.0\.50\/24; adverts carry different address lists/);
  });

  it('instances are matched by VIP when their names differ', () => {
    const r = show(lintCluster([host('a', { prio: 150 }), host('b', { name: 'WEB', vrid: 52 })]));
    assert.deepEqual(r, ["b:4:5 error WEB (matched with VI_1 by VIP): virtual_router_id 52 here but 51 in a:4: the hosts ignore each other's adverts and both become MASTER (split brain)"]);
  });

  it('two address owners, or equal priorities both MASTER, are errors', () => {
    const owners = show(lintCluster([host('a', { state: 'MASTER', prio: 255 }), host('b', { state: 'MASTER', prio: 255 })]));
    assert.deepEqual(owners, ['b:5:5 error VI_1: priority 255 (address owner) here and in a:5: only one host can own the addresses']);
    const equal = show(lintCluster([host('a', { state: 'MASTER' }), host('b', { state: 'MASTER' })]));
    assert.equal(equal.length, 1);
    assert.match(equal[0] ?? '', /^b:2:5 error VI_1: state MASTER with priority 100 here and in a:2/);
    assert.deepEqual(lintCluster([host('a'), host('b')]), [], 'equal priorities, both BACKUP (nopreempt style): fine');
  });

  it('a VRID used by two different virtual routers on one interface is an error', () => {
    const a = host('a', { prio: 150 });
    const b = host('b');
    const c = host('c', { name: 'OTHER', vip: '10.9.9.9/24' });
    const r = show(lintCluster([a, b, c]));
    assert.ok(r.some((d) => d.startsWith('c:4:5 error OTHER: virtual_router_id 51 is also used by VI_1 in a:4')), r.join('\n'));
    assert.ok(r.some((d) => d.startsWith('c:1:1 warning OTHER exists only in c')), r.join('\n'));
  });

  it('unicast peers must name the other host', () => {
    const u = (file: string, src: string, peer: string): { file: string; config: Config } =>
      text(file, `vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 5\n unicast_src_ip ${src}\n unicast_peer {\n  ${peer}\n }\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n`);
    assert.deepEqual(lintCluster([u('a', '10.0.0.2', '10.0.0.3'), u('b', '10.0.0.3', '10.0.0.2')]), []);
    const r = show(lintCluster([u('a', '10.0.0.2', '10.0.0.3'), u('b', '10.0.0.3', '10.0.0.9')]));
    assert.deepEqual(r, ['b:5:2 warning VI_1: unicast_src_ip 10.0.0.2 of a is not among the unicast peers here']);
  });
});
