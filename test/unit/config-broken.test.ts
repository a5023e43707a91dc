// Broken variants of the seeds (test/fixtures/configs/broken): each gives an error at the
// right file:line:col, and no model. Unbalanced braces are errors (keepalived silently
// mis-parses them, which the seeds complain about).
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { formatDiagnostic, loadConfig } from '../../src/config/index.js';

const root = fileURLToPath(new URL('../../../test/fixtures/configs/', import.meta.url));

// file → the first error: [line, col, text the message must contain]
const expected: Record<string, [number, number, string]> = {
  'missing-brace-auth.conf': [31, 5, "missing '}': the block of 'authentication' (opened at line 28) should end before this line"],
  'missing-brace-instance.conf': [41, 1, "missing '}': the block of 'vrrp_instance VI_1' (opened at line 21) is not closed before 'vrrp_instance VI_2'"],
  'missing-brace-eof.conf': [9, 20, "missing '}': the block of 'vrrp_instance VI_1' opened here is never closed"],
  'extra-brace.conf': [12, 5, "unexpected '}': this '}' closes 'vrrp_instance VI_1' too early ('virtual_ipaddress' at line 13 belongs inside it)"],
  'vrid-300.conf': [15, 23, "virtual_router_id must be 1..255, got '300'"],
  'unknown-track-script.conf': [47, 9, "track_script 'chk_http_prot' is not defined by any vrrp_script (defined: chk_http_port)"],
  'missing-vrid.conf': [1, 1, 'virtual_router_id is missing'],
  'priority-256.conf': [5, 14, "priority must be 1..255, got '256'"],
  'advert-int-0.conf': [4, 16, "advert_int must be 0.01..255 seconds, got '0'"],
  'duplicate-instance.conf': [9, 15, "duplicate vrrp_instance name 'VI_1'"],
  'same-vrid.conf': [11, 5, 'virtual_router_id 51 is already used by VI_1 (IPv4, on interface eth0'],
  'mixed-family.conf': [6, 9, 'VIP fd00::100 is IPv6 but the instance is IPv4 (from 192.168.1.100)'],
};

describe('broken configs', () => {
  it('every file in broken/ has an expectation', () => {
    assert.deepEqual(readdirSync(`${root}broken`).sort(), Object.keys(expected).sort());
  });

  for (const [file, [line, col, text]] of Object.entries(expected)) {
    it(`${file}: error at ${line}:${col}`, () => {
      const res = loadConfig(`broken/${file}`, { configId: 'test', cwd: root });
      assert.equal(res.config, null);
      const errors = res.diagnostics.filter((d) => d.severity === 'error');
      assert.equal(errors.length, 1, errors.map(formatDiagnostic).join('\n'));
      const e = errors[0];
      assert.ok(e);
      assert.equal(e.file, `broken/${file}`, 'relative paths are shown as given');
      assert.deepEqual([e.line, e.col], [line, col], formatDiagnostic(e));
      assert.ok(e.message.includes(text), e.message);
    });
  }

  it('the error is printed compiler style', () => {
    const res = loadConfig('broken/vrid-300.conf', { cwd: root, configId: 'test' });
    assert.deepEqual(res.diagnostics.map(formatDiagnostic), ["broken/vrid-300.conf:15:23: error: virtual_router_id must be 1..255, got '300'"]);
  });

  it('a missing file is one error at line 1', () => {
    const res = loadConfig('nope/keepalived.conf', { cwd: root });
    assert.equal(res.config, null);
    assert.deepEqual(
      res.diagnostics.map((d) => [d.severity, d.file, d.line, d.col]),
      [['error', 'nope/keepalived.conf', 1, 1]],
    );
    assert.match(res.diagnostics[0]?.message ?? '', /cannot read config file nope\/keepalived.conf: ENOENT/);
  });
});
