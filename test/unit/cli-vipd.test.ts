// vipd -t / -d and usage errors: exit 0 without errors (warnings allowed), 1 with
// errors, 2 for usage; diagnostics compiler style on stderr.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { run } from '../../src/cli/vipd.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const configs = `${repo}test/fixtures/configs/`;
const DIAG = /^[^:\s]+:\d+:\d+: (error|warning): \S/;

async function vipd(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(args, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

/** The real executable, for the bin → dist wiring and the process exit status. */
function spawnVipd(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [`${repo}bin/vipd`, ...args], { cwd: configs, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, out: stdout, err: stderr });
    });
  });
}

describe('vipd -t', () => {
  for (const f of readdirSync(`${configs}seeds`)) {
    it(`seeds/${f}: exit 0`, async () => {
      const r = await vipd(['-t', '-f', `${configs}seeds/${f}`, '-i', 'test']);
      assert.equal(r.code, 0, r.err);
      const lines = r.err.trimEnd().split('\n');
      const summary = lines.pop() ?? '';
      assert.match(summary, /: configuration OK \(0 errors, \d+ warnings?\)$/);
      for (const l of lines) assert.match(l, DIAG);
      assert.ok(!lines.some((l) => l.includes(': error: ')));
      assert.equal(r.out, '');
    });
  }

  it('seed004: the host check explains the shell one-liner', async () => {
    const r = await vipd(['-t', '-f', `${configs}seeds/seed004.conf`]);
    assert.equal(r.code, 0);
    assert.match(r.err, /seed004\.conf:12:10: warning: vrrp_script monitor_nginx: program '\[\[' is not found in PATH.*script "\/bin\/bash -c '\[\[ -f/);
  });

  it('a broken config: exit 1 with file:line:col', async () => {
    const r = await spawnVipd(['-t', '-f', 'broken/vrid-300.conf']);
    assert.equal(r.code, 1);
    assert.equal(r.out, '');
    assert.deepEqual(r.err.trimEnd().split('\n'), [
      "broken/vrid-300.conf:15:23: error: virtual_router_id must be 1..255, got '300'",
      'broken/vrid-300.conf: configuration has errors (1 error, 0 warnings)',
    ]);
  });

  it('every broken variant exits 1', async () => {
    for (const f of readdirSync(`${configs}broken`)) {
      const r = await vipd(['-t', '-f', `${configs}broken/${f}`]);
      assert.equal(r.code, 1, f);
      assert.match(r.err, /: error: /, f);
    }
  });

  it('a missing file: exit 1', async () => {
    const r = await vipd(['-t', '-f', '/nonexistent/keepalived.conf']);
    assert.equal(r.code, 1);
    assert.match(r.err, /^\/nonexistent\/keepalived\.conf:1:1: error: cannot read config file/);
  });

  it('the keepalived samples: exit 0', async () => {
    for (const f of readdirSync(`${configs}keepalived-samples`)) {
      const r = await vipd(['--config-test', '--use-file', `${configs}keepalived-samples/${f}`]);
      assert.equal(r.code, 0, `${f}\n${r.err}`);
    }
  });
});

describe('vipd -d', () => {
  it('prints the validated model as JSON', async () => {
    const r = await spawnVipd(['-d', '-f', 'seeds/seed000-master.conf', '-i', 'lb01']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, '');
    const m = JSON.parse(r.out) as {
      configId: string;
      instances: { name: string; priority: number; sourceAddress: string; vrid: number }[];
      scripts: { weight: number; fall: number }[];
    };
    assert.equal(m.configId, 'lb01');
    assert.deepEqual(m.instances.map((i) => [i.name, i.vrid, i.priority, i.sourceAddress]), [['VI_1', 51, 101, '192.168.64.129']]);
    assert.deepEqual(m.scripts.map((s) => [s.weight, s.fall]), [[-5, 2]]);
  });

  it('-i selects @id lines', async () => {
    const high = JSON.parse((await vipd(['-d', '-f', `${configs}keepalived-samples/keepalived.conf.conditional_conf`, '-i', 'high'])).out) as { instances: { priority: number }[] };
    const low = JSON.parse((await vipd(['-d', '-f', `${configs}keepalived-samples/keepalived.conf.conditional_conf`, '--config-id', 'low'])).out) as { instances: { priority: number }[] };
    assert.deepEqual([high.instances[0]?.priority, low.instances[0]?.priority], [170, 85]);
  });

  it('with errors: exit 1 and no JSON', async () => {
    const r = await vipd(['-d', '-f', `${configs}broken/missing-vrid.conf`]);
    assert.equal(r.code, 1);
    assert.equal(r.out, '');
    assert.match(r.err, /missing-vrid\.conf:1:1: error: vrrp_instance VI_1: virtual_router_id is missing/);
  });

  it('-t -d: the test report and the model', async () => {
    const r = await vipd(['-t', '-d', '-f', `${configs}seeds/seed003-master.conf`]);
    assert.equal(r.code, 0);
    assert.ok(JSON.parse(r.out));
    assert.match(r.err, /configuration OK/);
  });
});

describe('vipd usage', () => {
  it('unknown option: exit 2', async () => {
    const r = await spawnVipd(['--frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown option '--frobnicate'/);
  });

  it('missing option value and stray arguments: exit 2', async () => {
    assert.equal((await vipd(['-t', '-f'])).code, 2);
    assert.equal((await vipd(['-t', 'extra.conf'])).code, 2);
  });

  it('--help and --version: exit 0', async () => {
    const h = await vipd(['--help']);
    assert.equal(h.code, 0);
    for (const flag of ['--use-file', '--config-test', '--dump-conf', '--config-id', '--log-console', '--log-detail', '--pid', '--control-socket', '--watch']) {
      assert.ok(h.out.includes(flag), flag);
    }
    const v = await vipd(['--version']);
    assert.equal(v.code, 0);
    assert.match(v.out, /^\d+\.\d+\.\d+\n$/);
  });
});
