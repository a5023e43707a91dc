// vipctl lint: each host's config, then the hosts against each other; exit 1 when
// they would not form one virtual router, 2 for usage errors.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { run } from '../../src/cli/vipctl.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const configs = `${repo}test/fixtures/configs/`;

async function vipctl(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(args, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

describe('vipctl lint', () => {
  it('seed003: the VRID mismatch, exit 1 (through the real executable)', async () => {
    const r = await new Promise<{ code: number; err: string }>((resolve) => {
      execFile(process.execPath, [`${repo}bin/vipctl`, 'lint', 'seeds/seed003-master.conf', 'seeds/seed003-backup.conf'], { cwd: configs, timeout: 60_000 }, (error, _out, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, err: stderr });
      });
    });
    assert.equal(r.code, 1);
    assert.deepEqual(r.err.trimEnd().split('\n'), [
      "seeds/seed003-backup.conf:15:5: error: VI_1: virtual_router_id 61 here but 51 in seeds/seed003-master.conf:15: the hosts ignore each other's adverts and both become MASTER (split brain)",
      'lint: 2 files, 1 error, 0 warnings',
    ]);
  });

  it('seed002 dual: the VIP prefix mismatch, exit 1', async () => {
    const r = await vipctl(['lint', `${configs}seeds/seed002-lb01-dual.conf`, `${configs}seeds/seed002-lb02-dual.conf`]);
    assert.equal(r.code, 1);
    assert.match(r.err, /seed002-lb02-dual\.conf:34:5: error: VI_2: virtual_ipaddress differs .*here 192\.168\.178\.4\/24, there 192\.168\.178\.4\/32/);
  });

  it('seed000 master/backup: nothing bad, exit 0', async () => {
    const r = await vipctl(['lint', `${configs}seeds/seed000-master.conf`, `${configs}seeds/seed000-backup.conf`]);
    assert.deepEqual(r, { code: 0, out: '', err: 'lint: 2 files, 0 errors, 0 warnings\n' });
  });

  it('one config with @id lines, linted as two hosts with -i high,low', async () => {
    const f = `${configs}keepalived-samples/keepalived.conf.conditional_conf`;
    const r = await vipctl(['lint', '-i', 'high,low', f, f]);
    assert.equal(r.code, 0, r.err);
    assert.ok(!r.err.includes(': error: '));
  });

  it('a file with errors fails the lint', async () => {
    const r = await vipctl(['lint', `${configs}broken/vrid-300.conf`, `${configs}seeds/seed003-backup.conf`]);
    assert.equal(r.code, 1);
    assert.match(r.err, /vrid-300\.conf:15:23: error: virtual_router_id must be 1\.\.255, got '300'/);
  });

  it('usage errors: exit 2', async () => {
    assert.equal((await vipctl(['lint'])).code, 2);
    assert.equal((await vipctl(['lint', '-i', 'a,b,c', 'x.conf', 'y.conf'])).code, 2);
    assert.equal((await vipctl(['frobnicate'])).code, 2);
    assert.equal((await vipctl([])).code, 2);
    assert.equal((await vipctl(['--help'])).code, 0);
  });
});
