// Keywords vipd parses and keeps but does not act on must be said where they are
// written, as warnings: a clean `vipd -t` must not promise keepalived's behaviour.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parseConfigText } from '../../src/config/index.js';

function warnings(body: string): string[] {
  const r = parseConfigText(`vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n${body}\n}\n`, { file: 't.conf' });
  assert.ok(!r.diagnostics.some((d) => d.severity === 'error'), 'no errors');
  return r.diagnostics.filter((d) => d.severity === 'warning').map((d) => `${d.line}:${d.col} ${d.message}`);
}

const VIP = ' virtual_ipaddress {\n  10.0.0.1\n }';

it('a plain instance has no such warning', () => {
  assert.deepEqual(warnings(VIP), []);
});

it('use_vmac is reported at its line: VIPs go on the interface with its own MAC', () => {
  assert.deepEqual(warnings(`${VIP}\n use_vmac`), ['7:2 vrrp_instance VI_1: use_vmac is not implemented by vipd; the VIPs go on the interface itself with its own MAC']);
});

it('virtual_routes and virtual_rules are kept but not installed', () => {
  const w = warnings(`${VIP}\n virtual_routes {\n  10.1.0.0/16 via 10.0.0.254\n }\n virtual_rules {\n  from 10.0.0.1 table 100\n }`);
  assert.deepEqual(w, [
    '7:2 vrrp_instance VI_1: virtual_routes are kept but not installed by vipd',
    '10:2 vrrp_instance VI_1: virtual_rules are kept but not installed by vipd',
  ]);
});

it('AH authentication is refused on the wire and says so', () => {
  const w = warnings(`${VIP}\n authentication {\n  auth_type AH\n  auth_pass secret\n }`);
  assert.equal(w.length, 1);
  assert.match(w[0] ?? '', /^7:2 .*auth_type AH \(IPsec AH\) is not implemented by vipd/);
});

it('smtp_alert: no e-mail', () => {
  assert.deepEqual(warnings(`${VIP}\n smtp_alert`), ['7:2 vrrp_instance VI_1: smtp_alert: vipd sends no e-mail; use notify scripts']);
});
