// Host-dependent checks: interfaces, script programs, users; shell syntax in commands
// that keepalived (and vipd) run with execve(), not a shell.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { hostChecks, hostChecksAsync, loadConfig, parseConfigText, type Config, type HostProbe } from '../../src/config/index.js';

function probe(over: Partial<HostProbe> & { programs?: Record<string, 'ok' | 'missing' | 'not-file' | 'not-executable'> } = {}): HostProbe {
  const programs = over.programs ?? {};
  return {
    interfaces: over.interfaces ?? (() => new Set(['lo', 'eth0'])),
    program: over.program ?? ((p) => programs[p] ?? 'missing'),
    pathDirs: over.pathDirs ?? (() => ['/usr/sbin', '/usr/bin']),
    users: over.users ?? (() => new Set(['root', 'nobody'])),
    shIsBash: over.shIsBash ?? (() => false),
  };
}

function cfg(text: string): Config {
  const r = parseConfigText(text, { file: 't.conf' });
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), []);
  return r.config;
}

const show = (c: Config, p: HostProbe): string[] => hostChecks(c, p).map((d) => `${d.line}:${d.col} ${d.severity} ${d.message}`);

const INST = (body: string): string => `vrrp_instance VI_1 {\n interface ens33\n virtual_router_id 51\n virtual_ipaddress {\n  10.0.0.1 dev eth9\n }\n${body}\n}\n`;

describe('hostChecks', () => {
  it('interfaces that do not exist here are warnings (instance, VIP dev, track_interface)', () => {
    const c = cfg(INST(' track_interface {\n  eth0\n  bond7\n }'));
    assert.deepEqual(show(c, probe()), [
      '2:2 warning vrrp_instance VI_1: interface ens33 does not exist on this host',
      '5:3 warning vrrp_instance VI_1: interface eth9 of VIP 10.0.0.1 does not exist on this host',
      '9:3 warning vrrp_instance VI_1: tracked interface bond7 does not exist on this host',
    ]);
  });

  it('dynamic_interfaces turns the interface checks off', () => {
    const c = cfg(`global_defs {\n dynamic_interfaces\n}\n${INST('')}`);
    assert.deepEqual(show(c, probe()), []);
  });

  it('seed004: a shell one-liner as vrrp_script is not a program; the fix is shown', () => {
    const seeds = fileURLToPath(new URL('../../../test/fixtures/configs/seeds/', import.meta.url));
    const r = loadConfig('seed004.conf', { cwd: seeds, configId: 'x' });
    assert.ok(r.config);
    const diags = hostChecks(r.config, probe({ interfaces: () => new Set(['eth0']) }));
    assert.equal(diags.length, 1);
    const d = diags[0];
    assert.ok(d);
    assert.deepEqual([d.file, d.line, d.col, d.severity], ['seed004.conf', 12, 10, 'warning']);
    assert.match(d.message, /^vrrp_script monitor_nginx: program '\[\[' is not found in PATH; keepalived disables such a script\./);
    assert.match(d.message, /run vrrp_script commands without a shell/);
    assert.ok(
      d.message.endsWith(`write it as: script "/bin/bash -c '[[ -f /etc/keepalived/monitor_nginx.sh ]] && exit 1 || exit 0'"`),
      d.message,
    );
  });

  it('an existing program with shell operators in its arguments is reported too', () => {
    const c = cfg('vrrp_script s {\n script "/usr/bin/pgrep nginx || exit 1"\n}\n');
    const d = show(c, probe({ programs: { '/usr/bin/pgrep': 'ok' } }));
    assert.deepEqual(d, [
      `2:9 warning vrrp_script s: '/usr/bin/pgrep nginx || exit 1' needs a shell: keepalived (and vipd) run vrrp_script commands without a shell, so '||' cannot work; write it as: script "/bin/sh -c '/usr/bin/pgrep nginx || exit 1'"`,
    ]);
    assert.deepEqual(show(cfg(`vrrp_script s {\n script "/bin/sh -c 'pgrep nginx || exit 1'"\n}\n`), probe({ programs: { '/bin/sh': 'ok' } })), [], 'a shell may use shell syntax');
  });

  it('programs: found in PATH, missing, not executable, not a file', () => {
    const c = cfg('vrrp_script a {\n script "pgrep nginx"\n}\nvrrp_script b {\n script /opt/b.sh\n}\nvrrp_script c {\n script /opt/c.sh\n}\nvrrp_script d {\n script /opt\n}\n');
    assert.deepEqual(show(c, probe({ programs: { '/usr/bin/pgrep': 'ok', '/opt/c.sh': 'not-executable', '/opt': 'not-file' } })), [
      '5:9 warning vrrp_script b: /opt/b.sh does not exist on this host; keepalived disables such a script.',
      '8:9 warning vrrp_script c: /opt/c.sh is not executable (chmod +x /opt/c.sh); keepalived disables such a script.',
      '11:9 warning vrrp_script d: /opt is not a regular file; keepalived disables such a script.',
    ]);
  });

  it('notify: an unquoted argument is read as the user; when no such user exists, say how to quote', () => {
    const c = cfg(INST(' notify_master /etc/k/notify.sh MASTER'));
    const d = show(c, probe({ interfaces: () => null, programs: { '/etc/k/notify.sh': 'ok' } }));
    assert.deepEqual(d, [
      `7:16 warning vrrp_instance VI_1: notify_master: 'MASTER' is read as the user to run '/etc/k/notify.sh' as, and no such user exists; keepalived ignores this script. If 'MASTER' is an argument, quote the whole command: notify_master "/etc/k/notify.sh MASTER"`,
    ]);
  });

  it('"</dev/tcp/..." checks need bash as /bin/sh', () => {
    const c = cfg('vrrp_script http {\n script "</dev/tcp/127.0.0.1/80"\n}\n');
    assert.deepEqual(show(c, probe({ shIsBash: () => true })), []);
    const d = show(c, probe({ shIsBash: () => false }));
    assert.equal(d.length, 1);
    assert.match(d[0] ?? '', /is run with \/bin\/sh -c, which is not bash on this host.*write script "\/bin\/bash -c '<\/dev\/tcp\/127\.0\.0\.1\/80'"$/);
  });

  it('on this host: lo exists, /bin/sh is a program, and sync and async agree', async () => {
    const c = cfg(
      'vrrp_script a {\n script "/bin/sh -c true"\n}\nvrrp_script b {\n script /nonexistent/vipd-test-script\n}\n' +
        'vrrp_instance VI_1 {\n interface lo\n virtual_router_id 1\n virtual_ipaddress {\n  10.0.0.1 dev vipd-no-such-if\n }\n}\n',
    );
    const sync = hostChecks(c);
    assert.deepEqual(
      sync.map((d) => d.message),
      [
        'vrrp_instance VI_1: VRRP cannot run on the loopback interface',
        'vrrp_instance VI_1: interface vipd-no-such-if of VIP 10.0.0.1 does not exist on this host',
        'vrrp_script b: /nonexistent/vipd-test-script does not exist on this host; keepalived disables such a script.',
      ],
    );
    assert.deepEqual(await hostChecksAsync(c), sync);
  });
});
