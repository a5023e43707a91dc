/**
 * Who scripts run as: a script's own `user USER [GROUP]`, else global `script_user`,
 * else keepalived_script if that user exists, else root (vipd runs as root). Names are resolved once from /etc/passwd and
 * /etc/group at start-up and on reload, never on the advert path.
 */
import { readFile } from 'node:fs/promises';

export interface Credentials {
  readonly uid?: number;
  readonly gid?: number;
}

export interface ScriptUsers {
  /** uid/gid for a script; {} means "as the daemon". Unknown names fall back to the default. */
  resolve(user: string | null, group: string | null): Credentials;
  /** The login name of a uid, for messages ("uid 1000 (alice)"); undefined when unknown. */
  userName?(uid: number): string | undefined;
  /** The name of a gid, for messages. */
  groupName?(gid: number): string | undefined;
}

export interface Db {
  users: Map<string, { uid: number; gid: number }>;
  groups: Map<string, number>;
}

/** /etc/passwd and /etc/group text → the name tables (exported for tests). */
export function parseUserDb(passwd: string, group: string): Db {
  const users = new Map<string, { uid: number; gid: number }>();
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f.length >= 4 && f[0]) users.set(f[0], { uid: Number(f[2]), gid: Number(f[3]) });
  }
  const groups = new Map<string, number>();
  for (const line of group.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && f[0]) groups.set(f[0], Number(f[2]));
  }
  return { users, groups };
}

export async function loadScriptUsers(
  defaultUser: { user: string; group: string | null } | null,
): Promise<ScriptUsers> {
  const [passwd, group] = await Promise.all([
    readFile('/etc/passwd', 'utf8').catch(() => ''),
    readFile('/etc/group', 'utf8').catch(() => ''),
  ]);
  return scriptUsersFrom(parseUserDb(passwd, group), defaultUser);
}

export function scriptUsersFrom(
  db: Db,
  defaultUser: { user: string; group: string | null } | null,
): ScriptUsers {
  const lookup = (user: string | null, group: string | null): Credentials | null => {
    if (user === null) return null;
    const u = db.users.get(user) ?? (/^\d+$/.test(user) ? { uid: Number(user), gid: Number(user) } : undefined);
    if (u === undefined) return null;
    const gid = group === null ? u.gid : (db.groups.get(group) ?? (/^\d+$/.test(group) ? Number(group) : u.gid));
    return { uid: u.uid, gid };
  };
  // keepalived: without script_user, scripts run as keepalived_script if that user exists, else root.
  const implicit = db.users.has('keepalived_script') ? { user: 'keepalived_script', group: null } : null;
  const def = defaultUser ?? implicit;
  const fallback = lookup(def?.user ?? null, def?.group ?? null) ?? {};
  const self = process.getuid?.();
  const byUid = new Map<number, string>();
  for (const [name, u] of db.users) if (!byUid.has(u.uid)) byUid.set(u.uid, name);
  const byGid = new Map<number, string>();
  for (const [name, g] of db.groups) if (!byGid.has(g)) byGid.set(g, name);
  return {
    userName: (uid) => byUid.get(uid),
    groupName: (gid) => byGid.get(gid),
    resolve(user, group) {
      const c = lookup(user, group) ?? fallback;
      // Asking for our own uid is the same as not asking; it also works when not root.
      if (c.uid !== undefined && c.uid === self && c.gid === process.getgid?.()) return {};
      return c;
    },
  };
}
