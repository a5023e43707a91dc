// Property: the config parser never throws on arbitrary text; everything it has to
// say comes back as diagnostics located inside the input, and the model it builds is
// plain JSON.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { lintCluster, parseConfigText } from '../../src/config/index.js';

const KEYWORDS = [
  'global_defs',
  'router_id',
  'vrrp_version',
  'vrrp_garp_master_delay',
  'vrrp_strict',
  'notify_fifo',
  'vrrp_script',
  'script',
  'interval',
  'timeout',
  'weight',
  'reverse',
  'rise',
  'fall',
  'user',
  'track_file',
  'file',
  'vrrp_sync_group',
  'group',
  'vrrp_instance',
  'state',
  'MASTER',
  'BACKUP',
  'interface',
  'eth0',
  'virtual_router_id',
  'priority',
  'advert_int',
  'version',
  'nopreempt',
  'preempt_delay',
  'mcast_src_ip',
  'unicast_src_ip',
  'unicast_peer',
  'authentication',
  'auth_type',
  'PASS',
  'AH',
  'auth_pass',
  'virtual_ipaddress',
  'virtual_ipaddress_excluded',
  'dev',
  'brd',
  'scope',
  'label',
  'peer',
  'track_interface',
  'track_script',
  'notify_master',
  'notify',
  'garp_master_delay',
  'use_vmac',
  'virtual_server',
  'real_server',
  'include',
  'includem',
  '10.0.0.1',
  '10.0.0.1/24',
  'fe80::1',
  '2001:db8::1/64',
  '51',
  '0',
  '255',
  '300',
  '-5',
  '0.5',
  '+',
  '-nodad',
];
const PUNCT = ['{', '}', '"', "'", '!', '#', '@', '@^lb01', '@lb01', '$', '$X=1', '$X', '${X}', '${_HASH}', '\\', '$M= \\', '~SEQ'];
const SEPARATORS = [' ', '  ', '\t', '\n', '\n', '\r\n', '\r', ''];

const soup = fc
  .array(fc.tuple(fc.constantFrom(...KEYWORDS, ...PUNCT), fc.constantFrom(...SEPARATORS)), { maxLength: 120 })
  .map((parts) => parts.map(([t, s]) => t + s).join(''));

function checkText(text: string): void {
  const { config, diagnostics } = parseConfigText(text, { file: 't.conf', configId: 'lb01' });
  const lines = text.split(/\r\n|\n|\r/);
  for (const d of diagnostics) {
    assert.equal(d.file, 't.conf');
    assert.ok(d.severity === 'error' || d.severity === 'warning');
    assert.ok(d.message.length > 0);
    assert.ok(Number.isInteger(d.line) && d.line >= 1 && d.line <= lines.length, `line ${d.line} of ${lines.length}: ${d.message}`);
    const len = lines[d.line - 1]?.length ?? 0;
    assert.ok(Number.isInteger(d.col) && d.col >= 1 && d.col <= len + 1, `col ${d.col} on a line of ${len}: ${d.message}`);
  }
  assert.deepEqual(JSON.parse(JSON.stringify(config)), config);
  lintCluster([
    { file: 'a', config },
    { file: 'b', config },
  ]);
}

describe('config parser properties', () => {
  it('never throws on random strings; diagnostics stay inside the input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => checkText(text)),
      { numRuns: 400 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => checkText(text)),
      { numRuns: 200 },
    );
  });

  it('never throws on token soups of keywords, braces, quotes and !#@$\\', () => {
    fc.assert(
      fc.property(soup, (text) => checkText(text)),
      { numRuns: 1500 },
    );
  });

  it('never throws on mutations of a valid config', () => {
    const valid =
      'global_defs {\n router_id lb01\n}\nvrrp_script chk {\n script "/usr/bin/pgrep nginx"\n weight -20\n}\n' +
      'vrrp_instance VI_1 {\n state MASTER\n interface eth0\n virtual_router_id 51\n priority 150\n advert_int 1\n' +
      ' authentication {\n  auth_type PASS\n  auth_pass 1111\n }\n virtual_ipaddress {\n  10.0.0.50/24 dev eth0 label eth0:1\n }\n' +
      ' track_script {\n  chk\n }\n}\n';
    checkText(valid);
    const mutation = fc.tuple(fc.nat(valid.length), fc.nat(8), fc.constantFrom('', '{', '}', '"', '#', '\n', '$X', '@lb01 ', ' 999 ', '\\\n'));
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), (muts) => {
        let t = valid;
        for (const [at, del, ins] of muts) {
          const p = Math.min(at, t.length);
          t = t.slice(0, p) + ins + t.slice(p + del);
        }
        checkText(t);
      }),
      { numRuns: 1000 },
    );
  });
});
