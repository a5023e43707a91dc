/**
 * Can this script be run, and is it safe to run as root? keepalived's rules
 * (lib/notify.c: find_path, is_executable, check_script_secure, check_security):
 *
 * - a bare name is looked up in PATH, as the user that will run it;
 * - the file must be executable *for that uid:gid* (root: any x bit);
 * - when it runs as root (uid 0 or gid 0, or is setuid/setgid root), every component
 *   of its path — "/", each directory, the file — must be owned by root and not
 *   writable by a non-root group or by everyone (a directory with the sticky bit, like
 *   /tmp, may be world-writable). Directories are checked after resolving symlinks;
 *   when the file itself is a symlink with another name, both names are checked.
 *
 * keepalived decides this once at start-up; vipd checks before every run (a few
 * lstat calls), so fixing a permission takes effect without a reload.
 */
import { lstat, realpath, stat } from 'node:fs/promises';
import { posix as path } from 'node:path';
import type { Credentials } from '../exec/users.js';

export interface FileMode {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

/** keepalived's is_executable(): owner/group/other bits as seen by uid:gid, root needs any x. */
export function isExecutableBy(st: FileMode, uid: number, gid: number): boolean {
  if (uid === 0) return (st.mode & 0o111) !== 0;
  if (uid === st.uid) return (st.mode & 0o100) !== 0;
  if (gid === st.gid) return (st.mode & 0o010) !== 0;
  return (st.mode & 0o001) !== 0;
}

export type ComponentProblem =
  | { readonly kind: 'type'; readonly expected: 'directory' | 'file' }
  | { readonly kind: 'owner'; readonly uid: number }
  | { readonly kind: 'group-writable'; readonly gid: number }
  | { readonly kind: 'world-writable' };

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_ISVTX = 0o1000;

/** check_security() for one lstat'ed path component; `last` is the file itself. */
export function componentProblem(st: FileMode, last: boolean): ComponentProblem | null {
  const type = st.mode & S_IFMT;
  if (!last && type !== S_IFDIR) return { kind: 'type', expected: 'directory' };
  if (last && type !== S_IFREG && type !== S_IFLNK) return { kind: 'type', expected: 'file' };
  if (st.uid !== 0) return { kind: 'owner', uid: st.uid };
  const guarded = (type === S_IFDIR && (st.mode & S_ISVTX) === 0) || type === S_IFREG;
  if (!guarded) return null;
  if (st.gid !== 0 && (st.mode & 0o020) !== 0) return { kind: 'group-writable', gid: st.gid };
  if ((st.mode & 0o002) !== 0) return { kind: 'world-writable' };
  return null;
}

/** "/", "/etc", "/etc/keepalived", "/etc/keepalived/chk.sh" */
export function pathComponents(absPath: string): string[] {
  const parts = absPath.split('/').filter((p) => p !== '');
  const out = ['/'];
  let cur = '';
  for (const p of parts) {
    cur += '/' + p;
    out.push(cur);
  }
  return out;
}

export interface NameLookup {
  userName?(uid: number): string | undefined;
  groupName?(gid: number): string | undefined;
}

export function describeProblem(component: string, p: ComponentProblem, names: NameLookup = {}): string {
  switch (p.kind) {
    case 'type':
      return `${component} is not a ${p.expected === 'directory' ? 'directory' : 'regular file or symlink'}`;
    case 'owner': {
      const n = names.userName?.(p.uid);
      return `${component} is owned by uid ${p.uid}${n !== undefined ? ` (${n})` : ''}, who can modify it`;
    }
    case 'group-writable': {
      const n = names.groupName?.(p.gid);
      return `${component} is writable by group ${p.gid}${n !== undefined ? ` (${n})` : ''}`;
    }
    case 'world-writable':
      return `${component} is writable by everyone`;
  }
}

export type ProgramCheck =
  | {
      readonly ok: true;
      /** What to execve(): argv[0], or where PATH found it. */
      readonly path: string;
      /** Worth a warning, but the script runs (path search; unsafe permissions without enable_script_security). */
      readonly notes: readonly string[];
    }
  | {
      readonly ok: false;
      readonly problem: 'missing' | 'not-executable' | 'insecure';
      readonly message: string;
    };

export interface CheckOptions {
  readonly creds: Credentials;
  /** enable_script_security: refuse (instead of warn about) unsafe scripts run as root. */
  readonly scriptSecurity: boolean;
  readonly names?: NameLookup;
  /** PATH to search (default process.env.PATH, then the libc default). */
  readonly pathEnv?: string;
}

const DEFAULT_PATH = '/bin:/usr/bin';

interface Stat extends FileMode {
  readonly isFile: boolean;
  readonly dev: number;
  readonly ino: number;
}

async function statOf(p: string, follow: boolean): Promise<Stat | NodeJS.ErrnoException> {
  try {
    const s = follow ? await stat(p) : await lstat(p);
    return { mode: s.mode, uid: s.uid, gid: s.gid, isFile: s.isFile(), dev: s.dev, ino: s.ino };
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
}

const isErr = (x: Stat | NodeJS.ErrnoException): x is NodeJS.ErrnoException => x instanceof Error;

export async function checkProgram(argv0: string, opts: CheckOptions): Promise<ProgramCheck> {
  const uid = opts.creds.uid ?? process.getuid?.() ?? 0;
  const gid = opts.creds.gid ?? process.getgid?.() ?? 0;
  const notes: string[] = [];
  let file = argv0;

  if (argv0 === '') return { ok: false, problem: 'missing', message: 'the command is empty' };
  if (!argv0.includes('/')) {
    let denied: string | null = null;
    let found: string | null = null;
    for (const dir of (opts.pathEnv ?? process.env['PATH'] ?? DEFAULT_PATH).split(':')) {
      const cand = path.join(dir === '' ? '.' : dir, argv0);
      const st = await statOf(cand, true);
      if (isErr(st)) continue;
      if (st.isFile && isExecutableBy(st, uid, gid)) {
        found = cand;
        break;
      }
      denied ??= cand;
    }
    if (found === null) {
      return denied !== null
        ? { ok: false, problem: 'not-executable', message: `'${argv0}' is found in PATH as ${denied} but uid ${uid} gid ${gid} may not execute it` }
        : { ok: false, problem: 'missing', message: `program '${argv0}' is not found in PATH` };
    }
    notes.push(`'${argv0}' resolved by path search to ${found}; please give the full path`);
    file = found;
  }

  const st = await statOf(file, true);
  if (isErr(st)) {
    return st.code === 'ENOENT' || st.code === 'ENOTDIR'
      ? { ok: false, problem: 'missing', message: `${file} does not exist` }
      : { ok: false, problem: 'missing', message: `${file} cannot be accessed (${st.code ?? st.message})` };
  }
  if (!st.isFile) return { ok: false, problem: 'not-executable', message: `${file} is not a regular file` };
  if (!isExecutableBy(st, uid, gid)) {
    return { ok: false, problem: 'not-executable', message: `${file} is not executable for uid ${uid} gid ${gid} (chmod +x ${file})` };
  }

  const setuidRoot = st.uid === 0 && (st.mode & 0o4100) === 0o4100;
  const setgidRoot = st.gid === 0 && (st.mode & 0o2010) === 0o2010;
  if (!(uid === 0 || gid === 0 || setuidRoot || setgidRoot)) return { ok: true, path: file, notes };

  // Which names keepalived checks: the real path, and the same directory with the
  // configured file name when the file is a symlink of another name to the same inode.
  let real: string;
  try {
    real = await realpath(file);
  } catch (err) {
    return { ok: false, problem: 'missing', message: `${file} cannot be resolved (${(err as NodeJS.ErrnoException).code ?? ''})` };
  }
  const checked = [real];
  if (path.basename(real) !== path.basename(file)) {
    const sameName = path.join(path.dirname(real), path.basename(file));
    const s2 = await statOf(sameName, true);
    if (!isErr(s2) && s2.dev === st.dev && s2.ino === st.ino) checked.unshift(sameName);
  }
  for (const target of checked) {
    const comps = pathComponents(target);
    for (let i = 0; i < comps.length; i++) {
      const comp = comps[i] as string;
      const cst = await statOf(comp, false);
      if (isErr(cst)) return { ok: false, problem: 'missing', message: `${comp} cannot be accessed (${cst.code ?? cst.message})` };
      const problem = componentProblem(cst, i === comps.length - 1);
      if (problem === null) continue;
      const why = describeProblem(comp, problem, opts.names);
      const who = uid === 0 ? 'root' : `uid ${uid} gid ${gid}`;
      if (problem.kind === 'type') return { ok: false, problem: 'insecure', message: `${file}: wrong file type in its path: ${why}` };
      if (opts.scriptSecurity) {
        return {
          ok: false,
          problem: 'insecure',
          message: `refusing to run ${file} as ${who}: ${why} (enable_script_security; make every directory and the file owned by root and not group/world-writable)`,
        };
      }
      notes.push(`${file} runs as ${who} but ${why}; keepalived calls this unsafe (set enable_script_security to refuse such scripts)`);
      return { ok: true, path: file, notes };
    }
  }
  return { ok: true, path: file, notes };
}
