// Can a script run, and is it safe to run as root: keepalived's lib/notify.c rules
// (find_path, is_executable, check_script_secure, check_security).
import assert from 'node:assert/strict';
import { chmod, chown, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  checkProgram,
  componentProblem,
  describeProblem,
  isExecutableBy,
  pathComponents,
} from '../../src/track/program-check.js';

const DIR = 0o040000;
const REG = 0o100000;
const LNK = 0o120000;

const isRoot = process.getuid?.() === 0;
const needRoot = isRoot || process.env['CI'] === 'true' ? false : 'needs root (chown, and the root-only security rule)';

describe('is_executable', () => {
  it('root needs any x bit', () => {
    assert.equal(isExecutableBy({ mode: REG | 0o001, uid: 5, gid: 5 }, 0, 0), true);
    assert.equal(isExecutableBy({ mode: REG | 0o644, uid: 0, gid: 0 }, 0, 0), false);
  });
  it('the owner needs u+x, even when group or other could', () => {
    assert.equal(isExecutableBy({ mode: REG | 0o011, uid: 7, gid: 7 }, 7, 7), false);
    assert.equal(isExecutableBy({ mode: REG | 0o100, uid: 7, gid: 7 }, 7, 7), true);
  });
  it('the group needs g+x; others need o+x', () => {
    assert.equal(isExecutableBy({ mode: REG | 0o010, uid: 1, gid: 7 }, 9, 7), true);
    assert.equal(isExecutableBy({ mode: REG | 0o001, uid: 1, gid: 7 }, 9, 7), false);
    assert.equal(isExecutableBy({ mode: REG | 0o001, uid: 1, gid: 7 }, 9, 8), true);
  });
});

describe('check_security per path component', () => {
  const cases: Array<[string, { mode: number; uid: number; gid: number }, boolean, string | null]> = [
    ['root dir 755', { mode: DIR | 0o755, uid: 0, gid: 0 }, false, null],
    ['dir owned by a user', { mode: DIR | 0o755, uid: 1000, gid: 0 }, false, 'owner'],
    ['dir group-writable, group root', { mode: DIR | 0o775, uid: 0, gid: 0 }, false, null],
    ['dir group-writable, group staff', { mode: DIR | 0o775, uid: 0, gid: 50 }, false, 'group-writable'],
    ['dir world-writable', { mode: DIR | 0o777, uid: 0, gid: 0 }, false, 'world-writable'],
    ['dir world-writable with sticky bit (/tmp)', { mode: DIR | 0o1777, uid: 0, gid: 0 }, false, null],
    ['file 755 root', { mode: REG | 0o755, uid: 0, gid: 0 }, true, null],
    ['file world-writable', { mode: REG | 0o757, uid: 0, gid: 0 }, true, 'world-writable'],
    ['file group-writable, group 50', { mode: REG | 0o775, uid: 0, gid: 50 }, true, 'group-writable'],
    ['symlink owned by root', { mode: LNK | 0o777, uid: 0, gid: 0 }, true, null],
    ['symlink owned by a user', { mode: LNK | 0o777, uid: 1000, gid: 0 }, true, 'owner'],
    ['a file where a directory must be', { mode: REG | 0o755, uid: 0, gid: 0 }, false, 'type'],
    ['a directory as the script', { mode: DIR | 0o755, uid: 0, gid: 0 }, true, 'type'],
  ];
  for (const [what, st, last, kind] of cases) {
    it(`${what} → ${kind ?? 'safe'}`, () => {
      assert.equal(componentProblem(st, last)?.kind ?? null, kind);
    });
  }

  it('lists every component from the root', () => {
    assert.deepEqual(pathComponents('/etc/keepalived/chk.sh'), ['/', '/etc', '/etc/keepalived', '/etc/keepalived/chk.sh']);
  });

  it('names who can write, with names when known', () => {
    const names = { userName: (u: number) => (u === 1000 ? 'alice' : undefined), groupName: () => 'staff' };
    assert.match(describeProblem('/opt/chk.sh', { kind: 'owner', uid: 1000 }, names), /\/opt\/chk\.sh is owned by uid 1000 \(alice\)/);
    assert.match(describeProblem('/opt', { kind: 'group-writable', gid: 50 }, names), /\/opt is writable by group 50 \(staff\)/);
    assert.match(describeProblem('/opt', { kind: 'world-writable' }), /writable by everyone/);
  });
});

describe('checkProgram on real files', () => {
  let dir = '';
  const root = { creds: {}, scriptSecurity: true };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vipd-progcheck-'));
    await chmod(dir, 0o755);
  });
  after(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });
  const script = async (name: string, mode: number): Promise<string> => {
    const p = join(dir, name);
    await writeFile(p, '#!/bin/sh\nexit 0\n');
    await chmod(p, mode);
    return p;
  };

  it('a missing file', async () => {
    const r = await checkProgram(join(dir, 'nope.sh'), root);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.problem, 'missing');
    assert.match(!r.ok ? r.message : '', /nope\.sh does not exist/);
  });

  it('a file without x bits', async () => {
    const p = await script('noexec.sh', 0o644);
    const r = await checkProgram(p, root);
    assert.equal(!r.ok && r.problem, 'not-executable');
    assert.match(!r.ok ? r.message : '', /chmod \+x/);
  });

  it('a bare name is looked up in PATH, with a note', async () => {
    await script('vipd-probe-prog', 0o755);
    const r = await checkProgram('vipd-probe-prog', { ...root, pathEnv: `/nonexistent:${dir}` });
    assert.equal(r.ok, true);
    assert.equal(r.ok && r.path, join(dir, 'vipd-probe-prog'));
    assert.match(r.ok ? (r.notes[0] ?? '') : '', /resolved by path search/);
  });

  it('a shell word is not a program (seed004)', async () => {
    const r = await checkProgram('[[', { ...root, pathEnv: dir });
    assert.equal(!r.ok && r.problem, 'missing');
    assert.match(!r.ok ? r.message : '', /'\[\[' is not found in PATH/);
  });

  it('a root-owned 0755 script under root-owned directories is safe', { skip: needRoot }, async () => {
    const p = await script('safe.sh', 0o755);
    const r = await checkProgram(p, root);
    assert.deepEqual(r, { ok: true, path: p, notes: [] });
  });

  it('enable_script_security refuses a world-writable script run as root, naming the file', { skip: needRoot }, async () => {
    const p = await script('ww.sh', 0o757);
    const r = await checkProgram(p, root);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.problem, 'insecure');
    assert.match(!r.ok ? r.message : '', new RegExp(`refusing to run ${p} as root: ${p} is writable by everyone`));
  });

  it('without enable_script_security the same script runs, with a note', { skip: needRoot }, async () => {
    const p = await script('ww2.sh', 0o757);
    const r = await checkProgram(p, { creds: {}, scriptSecurity: false });
    assert.equal(r.ok, true);
    assert.match(r.ok ? (r.notes[0] ?? '') : '', /writable by everyone; keepalived calls this unsafe/);
  });

  it('refuses a script owned by another user, and one in a directory a group can write', { skip: needRoot }, async () => {
    const p = await script('owned.sh', 0o755);
    await chown(p, 65534, 65534);
    const r = await checkProgram(p, { ...root, names: { userName: (u) => (u === 65534 ? 'nobody' : undefined) } });
    assert.match(!r.ok ? r.message : '', /owned\.sh is owned by uid 65534 \(nobody\)/);

    const sub = join(dir, 'grp');
    await mkdir(sub);
    await chown(sub, 0, 65534);
    await chmod(sub, 0o775);
    const q = join(sub, 'chk.sh');
    await writeFile(q, '#!/bin/sh\n');
    await chmod(q, 0o755);
    const r2 = await checkProgram(q, root);
    assert.match(!r2.ok ? r2.message : '', new RegExp(`${sub} is writable by group 65534`));
  });

  it('a sticky world-writable directory is fine (like /tmp)', { skip: needRoot }, async () => {
    const sub = join(dir, 'sticky');
    await mkdir(sub);
    await chmod(sub, 0o1777);
    const q = join(sub, 'chk.sh');
    await writeFile(q, '#!/bin/sh\n');
    await chmod(q, 0o755);
    assert.equal((await checkProgram(q, root)).ok, true);
  });

  it('checks the target of a symlink: a safe link to an unsafe file is refused', { skip: needRoot }, async () => {
    const target = await script('target.sh', 0o757);
    const link = join(dir, 'link.sh');
    await symlink(target, link);
    const r = await checkProgram(link, root);
    assert.match(!r.ok ? r.message : '', /target\.sh is writable by everyone/);
  });

  it('does not apply the root rule to a script that runs as another user', { skip: needRoot }, async () => {
    const p = await script('asuser.sh', 0o757);
    const r = await checkProgram(p, { creds: { uid: 65534, gid: 65534 }, scriptSecurity: true });
    assert.deepEqual(r, { ok: true, path: p, notes: [] });
  });

  it('checks x bits for the uid the script runs as', { skip: needRoot }, async () => {
    const p = await script('owneronly.sh', 0o700);
    const r = await checkProgram(p, { creds: { uid: 65534, gid: 65534 }, scriptSecurity: false });
    assert.equal(!r.ok && r.problem, 'not-executable');
    assert.match(!r.ok ? r.message : '', /not executable for uid 65534 gid 65534/);
  });
});
