// keepalived's defaults and corrections (keepalived 2.2.7 vrrp_parser.c, vrrp_data.c
// alloc_vrrp/alloc_vrrp_script, vrrp.c vrrp_complete_instance, global_data.c): the model
// carries them resolved, and what keepalived corrects with a message is a warning.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText, type Config, type VrrpInstance } from '../../src/config/index.js';

function parse(text: string): { config: Config; diags: string[]; errors: string[] } {
  const r = parseConfigText(text, { file: 't.conf' });
  return {
    config: r.config,
    diags: r.diagnostics.map((d) => `${d.line}:${d.col} ${d.severity} ${d.message}`),
    errors: r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}:${d.col} ${d.message}`),
  };
}

/** One instance with the given body lines (line 1 is `vrrp_instance VI_1 {`). */
function one(body: string, before = ''): { inst: VrrpInstance; diags: string[]; errors: string[]; config: Config } {
  const r = parse(`${before}vrrp_instance VI_1 {\n${body}\n}\n`);
  const inst = r.config.instances[0];
  assert.ok(inst);
  return { inst, diags: r.diags, errors: r.errors, config: r.config };
}

const BASE = ' interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  10.0.0.1\n }';

describe('instance defaults', () => {
  it('nothing set: BACKUP, priority 100, advert_int 1 s, v2, IPv4, preempt, accept, 224.0.0.18', () => {
    const { inst, diags } = one(BASE);
    assert.deepEqual(diags, []);
    assert.deepEqual(
      {
        state: inst.initialState,
        priority: inst.priority,
        advert: inst.advertIntervalMs,
        version: inst.version,
        family: inst.family,
        preempt: inst.preempt,
        delay: inst.preemptDelayMs,
        accept: inst.accept,
        dst: inst.mcastDestination,
        auth: inst.auth,
        ttl: inst.unicastTtl,
        down: inst.downTimerAdverts,
        strict: inst.strict,
        lpna: inst.lowerPrioNoAdvert,
        hpsa: inst.higherPrioSendAdvert,
        smtp: inst.smtpAlert,
      },
      {
        state: 'BACKUP',
        priority: 100,
        advert: 1000,
        version: 2,
        family: 4,
        preempt: true,
        delay: 0,
        accept: true,
        dst: '224.0.0.18',
        auth: null,
        ttl: 255,
        down: 3,
        strict: false,
        lpna: false,
        hpsa: false,
        smtp: false,
      },
    );
    assert.deepEqual(inst.garp, { masterDelayMs: 5000, masterRepeat: 5, masterRefreshMs: 0, masterRefreshRepeat: 1, lowerPrioDelayMs: 5000, lowerPrioRepeat: 5 });
    assert.deepEqual(inst.vips[0], {
      address: '10.0.0.1',
      prefixLength: 32,
      family: 4,
      noprefixroute: false,
      home: false,
      nodad: false,
      noTrack: false,
      loc: { file: 't.conf', line: 5, col: 3 },
    });
  });

  it('state MASTER without priority means priority 255 (address owner), with a warning', () => {
    const { inst, diags } = one(` state MASTER\n${BASE}`);
    assert.deepEqual([inst.initialState, inst.priority], ['MASTER', 255]);
    assert.deepEqual(diags.length, 1);
    assert.match(diags[0] ?? '', /^2:2 warning .*state MASTER without priority makes this host the address owner \(priority 255/);
  });

  it('priority 255 without state means MASTER', () => {
    assert.equal(one(` priority 255\n${BASE}`).inst.initialState, 'MASTER');
  });

  it('state MASTER then BACKUP keeps MASTER (keepalived)', () => {
    const { inst, diags } = one(` state MASTER\n state BACKUP\n priority 10\n${BASE}`);
    assert.equal(inst.initialState, 'MASTER');
    assert.match(diags[0] ?? '', /^3:8 warning .*state already set to MASTER; BACKUP ignored/);
  });

  it('nopreempt with state MASTER is cleared, with a warning', () => {
    const { inst, diags } = one(` state MASTER\n priority 100\n nopreempt\n${BASE}`);
    assert.equal(inst.preempt, true);
    assert.deepEqual(diags, ['4:2 warning vrrp_instance VI_1: nopreempt does not work with state MASTER; ignored (use state BACKUP on every host with nopreempt)']);
  });

  it('nopreempt with state BACKUP is kept; preempt_delay is in ms', () => {
    assert.equal(one(` nopreempt\n${BASE}`).inst.preempt, false);
    const d = one(` preempt_delay 2.5\n${BASE}`);
    assert.deepEqual([d.inst.preemptDelayMs, d.diags], [2500, []]);
    assert.deepEqual(one(` preempt_delay 1001\n${BASE}`).errors, ["2:16 preempt_delay must be 0..1000 seconds, got '1001'"]);
  });

  it('advert_int: v2 rounds fractions to whole seconds (warning), v3 keeps centiseconds', () => {
    const v2 = one(` advert_int 0.5\n${BASE}`);
    assert.equal(v2.inst.advertIntervalMs, 1000);
    assert.deepEqual(v2.diags, ['2:2 warning vrrp_instance VI_1: VRRPv2 advert_int must be whole seconds, got 0.5; rounded to 1']);
    const v3 = one(` version 3\n advert_int 0.25\n${BASE}`);
    assert.deepEqual([v3.inst.advertIntervalMs, v3.diags], [250, []]);
    const v3r = one(` version 3\n advert_int 0.123\n${BASE}`);
    assert.equal(v3r.inst.advertIntervalMs, 120);
    assert.match(v3r.diags[0] ?? '', /units of 10 ms, got 0.123; rounded to 0.12/);
    assert.equal(one(` advert_int 3\n${BASE}`).inst.advertIntervalMs, 3000);
    assert.deepEqual(one(` advert_int 256\n${BASE}`).errors, ["2:13 advert_int must be 0.01..255 seconds, got '256'"]);
    assert.deepEqual(one(` advert_int fast\n${BASE}`).errors, ["2:13 advert_int must be 0.01..255 seconds, got 'fast'"]);
  });

  it('version comes from the global vrrp_version; IPv6 instances use 3', () => {
    const { inst } = one(BASE, 'global_defs {\n vrrp_version 3\n}\n');
    assert.equal(inst.version, 3);
    const v6 = one(' interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  fe80::1\n  2001:db8::1/64\n }');
    assert.deepEqual([v6.inst.family, v6.inst.version, v6.inst.mcastDestination, v6.inst.vips[1]?.prefixLength], [6, 3, 'ff02::12', 64]);
    assert.deepEqual(v6.diags, []);
  });

  it('vrid and priority ranges are errors naming the value', () => {
    assert.deepEqual(one(' interface eth0\n virtual_router_id 0\n virtual_ipaddress {\n 10.0.0.1\n }').errors, ["3:20 virtual_router_id must be 1..255, got '0'"]);
    assert.deepEqual(one(` priority 0\n${BASE}`).errors, ["2:11 priority must be 1..255, got '0'"]);
    assert.deepEqual(one(` priority high\n${BASE}`).errors, ["2:11 priority must be 1..255, got 'high'"]);
    assert.deepEqual(one(` state STANDBY\n${BASE}`).errors, ["2:8 vrrp_instance VI_1: state must be MASTER or BACKUP, got 'STANDBY'"]);
  });

  it('auth_pass longer than 8 characters is truncated with a warning', () => {
    const { inst, diags } = one(` authentication {\n  auth_type PASS\n  auth_pass 0123456789\n }\n${BASE}`);
    assert.deepEqual(inst.auth, { type: 'PASS', password: '01234567' });
    assert.deepEqual(diags, ["4:13 warning vrrp_instance VI_1: auth_pass is longer than 8 characters; only '01234567' is used (truncated, as keepalived does)"]);
  });

  it('authentication is ignored with VRRPv3 and without a password', () => {
    const v3 = one(` version 3\n authentication {\n  auth_type PASS\n  auth_pass x\n }\n${BASE}`);
    assert.equal(v3.inst.auth, null);
    assert.match(v3.diags[0] ?? '', /version 3 has no authentication/);
    const nopass = one(` authentication {\n  auth_type AH\n }\n${BASE}`);
    assert.equal(nopass.inst.auth, null);
    assert.match(nopass.diags[0] ?? '', /auth_type AH without auth_pass/);
  });

  it('VIP modifiers: /len, brd (+ too), dev, scope, label, peer, noprefixroute, home, nodad', () => {
    const { inst, diags } = one(
      ' interface eth0\n virtual_router_id 9\n virtual_ipaddress {\n' +
        '  192.168.1.10/24 brd + dev eth1 scope link label eth1:9 noprefixroute\n' +
        '  192.168.1.11/24 brd 192.168.1.255\n' +
        '  10.1.1.1 peer 10.1.1.2/30\n' +
        ' }\n virtual_ipaddress_excluded {\n  2001:db8::5/64 home -nodad\n  2001:db8::6 nodad no_track\n }',
    );
    assert.deepEqual(diags, []);
    const strip = ({ loc: _loc, ...v }: Record<string, unknown>): Record<string, unknown> => v;
    assert.deepEqual(
      inst.vips.map((v) => strip({ ...v })),
      [
        { address: '192.168.1.10', prefixLength: 24, family: 4, brd: '192.168.1.255', dev: 'eth1', scope: 'link', label: 'eth1:9', noprefixroute: true, home: false, nodad: false, noTrack: false },
        { address: '192.168.1.11', prefixLength: 24, family: 4, brd: '192.168.1.255', noprefixroute: false, home: false, nodad: false, noTrack: false },
        { address: '10.1.1.1', prefixLength: 30, family: 4, peer: '10.1.1.2/30', noprefixroute: false, home: false, nodad: false, noTrack: false },
      ],
    );
    // keepalived adds IPv6 VIPs without DAD unless `-nodad` ("not nodad") asks for it.
    assert.deepEqual(
      inst.excludedVips.map((v) => [v.address, v.prefixLength, v.family, v.home, v.nodad, v.noTrack]),
      [
        ['2001:db8::5', 64, 6, true, false, false],
        ['2001:db8::6', 128, 6, false, true, true],
      ],
    );
  });

  it('bad VIPs are errors; an unknown VIP option is a warning', () => {
    const r = one(' interface eth0\n virtual_router_id 9\n virtual_ipaddress {\n  10.0.0.300\n  10.0.0.1/33\n  10.0.0.2 dev\n  10.0.0.3 shiny\n }');
    assert.deepEqual(r.diags, [
      "5:3 error vrrp_instance VI_1: '10.0.0.300' is not an IPv4 or IPv6 address",
      "6:3 error vrrp_instance VI_1: prefix length of 10.0.0.1/33 must be 0..32, got '33'",
      "7:12 error vrrp_instance VI_1: 'dev' needs a value for 10.0.0.2",
      "8:12 warning vrrp_instance VI_1: unknown option 'shiny' for address 10.0.0.3; ignored",
    ]);
  });

  it('no VIP is a warning in v2 and an error in v3', () => {
    assert.deepEqual(one(' interface eth0\n virtual_router_id 9').diags, ['1:1 warning vrrp_instance VI_1: no virtual_ipaddress; at least one is sensible']);
    assert.deepEqual(one(' interface eth0\n version 3\n virtual_router_id 9').errors, ['1:1 vrrp_instance VI_1: no virtual_ipaddress; at least one is required with VRRP version 3']);
  });

  it('no interface is an error unless unicast with unicast_src_ip', () => {
    assert.deepEqual(one(' virtual_router_id 9\n virtual_ipaddress {\n 10.0.0.1\n }').errors, ['1:1 vrrp_instance VI_1: interface is missing (only unicast instances with unicast_src_ip may omit it)']);
    const u = one(' virtual_router_id 9\n unicast_src_ip 10.0.0.5\n unicast_peer {\n  10.0.0.6 min_ttl 250\n  10.0.0.7\n }\n virtual_ipaddress {\n 10.0.0.1\n }');
    assert.deepEqual(u.diags, []);
    assert.deepEqual([u.inst.interface, u.inst.unicast, u.inst.mcastDestination, u.inst.sourceAddress, u.inst.checkUnicastSrc], [null, true, null, '10.0.0.5', true]);
    assert.deepEqual(u.inst.unicastPeers.map((p) => [p.address, p.minTtl, p.maxTtl]), [
      ['10.0.0.6', 250, 255],
      ['10.0.0.7', 0, 255],
    ]);
  });
});

describe('garp and global defaults', () => {
  it('global vrrp_garp_* are the defaults of every instance; instance garp_* override', () => {
    const { config, diags } = parse(
      'global_defs {\n vrrp_garp_master_delay 10\n vrrp_garp_master_repeat 3\n vrrp_garp_master_refresh 60\n vrrp_garp_master_refresh_repeat 2\n}\n' +
        `vrrp_instance A {\n${BASE}\n}\nvrrp_instance B {\n interface eth0\n virtual_router_id 52\n garp_master_delay 1\n garp_master_repeat 0\n virtual_ipaddress {\n  10.0.0.2\n }\n}\n`,
    );
    assert.deepEqual(diags, ['18:21 warning garp_master_repeat must be greater than 0; using 1']);
    assert.deepEqual(config.instances[0]?.garp, { masterDelayMs: 10_000, masterRepeat: 3, masterRefreshMs: 60_000, masterRefreshRepeat: 2, lowerPrioDelayMs: 10_000, lowerPrioRepeat: 3 });
    assert.deepEqual(config.instances[1]?.garp, { masterDelayMs: 1000, masterRepeat: 1, masterRefreshMs: 60_000, masterRefreshRepeat: 2, lowerPrioDelayMs: 10_000, lowerPrioRepeat: 3 });
  });

  it('vrrp_strict: no auth, no unicast, accept off, state follows priority 255', () => {
    const { inst, diags } = one(` state MASTER\n priority 100\n authentication {\n  auth_type PASS\n  auth_pass x\n }\n${BASE}`, 'global_defs {\n vrrp_strict\n}\n');
    assert.deepEqual([inst.strict, inst.auth, inst.accept, inst.initialState, inst.lowerPrioNoAdvert, inst.garp.lowerPrioRepeat], [true, null, false, 'BACKUP', true, 0]);
    assert.equal(diags.length, 2);
  });

  it('global settings are parsed and kept', () => {
    const { config, diags } = parse(
      'global_defs {\n router_id r1\n vrrp_mcast_group4 224.0.0.19\n script_user nobody nogroup\n enable_script_security\n' +
        ' vrrp_notify_fifo /run/vrrp.fifo\n vrrp_notify_fifo_script "/usr/local/bin/fifo.sh x"\n vrrp_skip_check_adv_addr\n smtp_alert\n vrrp_garp_interval 0.001\n lvs_flush\n}\n' +
        `vrrp_instance A {\n${BASE}\n}\n`,
    );
    assert.deepEqual(diags, ["11:2 warning 'lvs_flush' in global_defs is not handled by vipd; ignored"]);
    const g = config.global;
    assert.deepEqual(
      [g.routerId, g.mcastGroup4, g.scriptUser, g.enableScriptSecurity, g.vrrpNotifyFifo?.path, g.vrrpNotifyFifo?.script?.argv, g.skipCheckAdvAddr, g.smtpAlert, g.garpIntervalMs],
      ['r1', '224.0.0.19', { user: 'nobody', group: 'nogroup' }, true, '/run/vrrp.fifo', ['/usr/local/bin/fifo.sh', 'x'], true, true, 1],
    );
    const i = config.instances[0];
    assert.deepEqual([i?.mcastDestination, i?.skipCheckAdvAddr, i?.smtpAlert], ['224.0.0.19', true, true]);
    assert.equal(parseConfigText('global_defs {\n}\n', { hostname: 'myhost' }).config.global.routerId, 'myhost', 'router_id defaults to the host name');
  });
});

describe('vrrp_script, track_* and sync groups', () => {
  it('vrrp_script defaults: interval 1 s, timeout = interval, weight 0, rise/fall 1', () => {
    const { config, diags } = parse('vrrp_script s {\n script /bin/true\n}\n');
    assert.deepEqual(diags, []);
    const s = config.scripts[0];
    assert.deepEqual([s?.intervalMs, s?.timeoutMs, s?.weight, s?.weightReverse, s?.rise, s?.fall, s?.initFail], [1000, 1000, 0, false, 1, 1, false]);
  });

  it('weight range -253..253 and reverse; interval 0 becomes 1', () => {
    const r = parse('vrrp_script s {\n script /bin/true\n weight 30 reverse\n interval 0\n timeout 5\n init_fail\n user nobody\n}\nvrrp_script t {\n script /bin/true\n weight -254\n}\n');
    assert.deepEqual(r.diags, ['4:11 warning interval must be greater than 0; using 1', "11:9 error vrrp_script t: weight must be -253..253, got '-254'"]);
    const s = r.config.scripts[0];
    assert.deepEqual([s?.weight, s?.weightReverse, s?.intervalMs, s?.timeoutMs, s?.initFail, s?.user], [30, true, 1000, 5000, true, 'nobody']);
  });

  it('track references carry the effective weight: their own, else the script/file one', () => {
    const { inst, diags, config } = one(
      ` track_script {\n  a\n  b weight 7 reverse\n }\n track_interface {\n  eth1\n  eth2 weight -20\n }\n track_file {\n  f\n  g weight 3\n }\n${BASE}`,
      'vrrp_script a {\n script /bin/a\n weight -10\n}\nvrrp_script b {\n script /bin/b\n weight -10\n}\ntrack_file f {\n file /run/f\n}\ntrack_file g {\n file /run/g\n weight 5 reverse\n init_file 2 overwrite\n}\n',
    );
    assert.deepEqual(diags, []);
    assert.deepEqual(inst.trackScripts.map((t) => [t.name, t.weight, t.reverse]), [
      ['a', -10, false],
      ['b', 7, true],
    ]);
    assert.deepEqual(inst.trackInterfaces.map((t) => [t.name, t.weight]), [
      ['eth1', 0],
      ['eth2', -20],
    ]);
    assert.deepEqual(inst.trackFiles.map((t) => [t.name, t.weight, t.reverse]), [
      ['f', 1, false],
      ['g', 3, true],
    ]);
    assert.deepEqual(config.trackFiles.map((f) => [f.name, f.path, f.weight, f.init]), [
      ['f', '/run/f', 1, null],
      ['g', '/run/g', 5, { value: 2, overwrite: true }],
    ]);
  });

  it('reference weights: ±254 becomes ±253 for interfaces and scripts (keepalived), track_file takes -254..254', () => {
    const r = one(` track_interface {\n  eth1 weight 254\n }\n track_file {\n  f weight -254\n  g weight 255\n }\n${BASE}`, 'track_file f {\n file /f\n}\ntrack_file g {\n file /g\n}\n');
    assert.deepEqual(r.diags, [
      '9:15 warning track_interface eth1: weight cannot be 254; using 253',
      "13:12 error track_file g: weight must be -254..254, got '255'",
    ]);
    assert.deepEqual(r.inst.trackInterfaces.map((t) => t.weight), [253]);
    assert.deepEqual(r.inst.trackFiles.map((t) => [t.name, t.weight]), [['f', -254]]);
  });

  it('track_file naming nothing is an error; vrrp_track_file is a deprecated synonym', () => {
    const r = one(` track_file {\n  nope\n }\n${BASE}`, 'vrrp_track_file f {\n file /x\n}\n');
    assert.deepEqual(r.diags, [
      "1:1 warning 'vrrp_track_file' is deprecated; use 'track_file'",
      "6:3 error vrrp_instance VI_1: track_file 'nope' is not defined by any track_file block (defined: f)",
    ]);
  });

  it('sync group members lose weighted trackers (keepalived) unless sync_group_tracking_weight', () => {
    const text = (extra: string): string =>
      `vrrp_script s {\n script /bin/s\n weight -20\n}\nvrrp_sync_group G {\n group {\n  A B\n }\n${extra}}\n` +
      `vrrp_instance A {\n${BASE}\n track_script {\n  s\n }\n track_interface {\n  eth1 weight 5\n }\n}\n` +
      'vrrp_instance B {\n interface eth0\n virtual_router_id 52\n virtual_ipaddress {\n  10.0.0.2\n }\n}\n';
    const dropped = parse(text(''));
    const a = dropped.config.instances[0];
    assert.deepEqual([a?.syncGroup, a?.trackScripts.length, a?.trackInterfaces.map((t) => t.weight)], ['G', 0, [0]]);
    assert.equal(dropped.diags.length, 2);
    assert.ok(dropped.diags.every((d) => d.includes('sync group G')));
    const kept = parse(text(' sync_group_tracking_weight\n'));
    assert.deepEqual(kept.diags, []);
    assert.deepEqual(kept.config.instances[0]?.trackScripts.map((t) => t.weight), [-20]);
    assert.deepEqual(kept.config.syncGroups[0]?.instances, ['A', 'B']);
  });

  it('an address owner (priority 255) ignores weighted trackers', () => {
    const r = one(` priority 255\n track_script {\n  s\n }\n${BASE}`, 'vrrp_script s {\n script /bin/s\n weight 10\n}\n');
    assert.equal(r.inst.trackScripts.length, 0);
    assert.match(r.diags[0] ?? '', /weighted track_script s \(weight 10\) ignored because it has priority 255/);
  });

  it('sync group members that do not exist are warnings; one-member groups warn', () => {
    const r = parse(`vrrp_sync_group G {\n group {\n  A\n  Z\n }\n notify_master "/bin/m x"\n}\nvrrp_instance A {\n${BASE}\n}\n`);
    assert.deepEqual(r.diags, [
      '1:1 warning vrrp_sync_group G has only one instance; this is probably not what you want',
      "4:3 warning vrrp_sync_group G: instance 'Z' does not exist; ignored",
    ]);
    assert.deepEqual(r.config.syncGroups[0]?.notify.master?.argv, ['/bin/m', 'x']);
  });
});
