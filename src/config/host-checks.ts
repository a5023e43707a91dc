/**
 * Checks that depend on the host the config runs on: interfaces that exist, script
 * programs that exist and are executable, users that exist. All are warnings (the
 * same file is valid on the host it was written for). keepalived runs vrrp_script and
 * notify commands with execve(), not a shell, so shell syntax is reported here too
 * with the way to write it.
 *
 * The checks themselves are pure over a probe; `hostChecks` probes with blocking
 * calls (start-up, `vipd -t`), `hostChecksAsync` collects the same facts first with
 * fs/promises (reload).
 */
import { accessSync, constants, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { access, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { posix as path } from 'node:path';
import type { Diagnostic, SourceLocation } from './diagnostics.js';
import type { Command, Config } from './model.js';

export type ProgramStatus = 'ok' | 'missing' | 'not-file' | 'not-executable';

export interface HostProbe {
  /** Names of the network interfaces (null when they cannot be listed). */
  interfaces(): ReadonlySet<string> | null;
  program(absPath: string): ProgramStatus;
  /** The PATH directories searched for a bare program name. */
  pathDirs(): readonly string[];
  /** User names (null when unknown). */
  users(): ReadonlySet<string> | null;
  /** Whether /bin/sh is bash (null when unknown). */
  shIsBash(): boolean | null;
}

interface CommandUse {
  readonly cmd: Command;
  /** "vrrp_script chk_nginx", "vrrp_instance VI_1", ... */
  readonly owner: string;
  /** The keyword that configured it, for the suggested fix. */
  readonly keyword: string;
}

const SHELLS = new Set(['sh', 'bash', 'dash', 'ash', 'ksh', 'zsh', 'busybox']);
const SHELL_WORDS = new Set(['[[', ']]', 'if', 'then', 'fi', 'exit', '!', '{', '}', '(', ')', 'for', 'while', 'case', 'export']);
const SHELL_OPERATORS = new Set(['&&', '||', '|', ';', '&', '>', '>>', '<', '2>&1', '2>', '&>']);

const NOTIFY_KEYWORDS: Record<string, string> = {
  master: 'notify_master',
  backup: 'notify_backup',
  fault: 'notify_fault',
  stop: 'notify_stop',
  any: 'notify',
  masterRxLowerPri: 'notify_master_rx_lower_pri',
};

function commandUses(config: Config): CommandUse[] {
  const out: CommandUse[] = [];
  for (const s of config.scripts) out.push({ cmd: s.command, owner: `vrrp_script ${s.name}`, keyword: 'script' });
  const notifies = (owner: string, n: Record<string, Command | null>): void => {
    for (const [k, c] of Object.entries(n)) if (c !== null) out.push({ cmd: c, owner, keyword: NOTIFY_KEYWORDS[k] ?? k });
  };
  for (const i of config.instances) notifies(`vrrp_instance ${i.name}`, { ...i.notify });
  for (const g of config.syncGroups) notifies(`vrrp_sync_group ${g.name}`, { ...g.notify });
  if (config.global.notifyFifo?.script) out.push({ cmd: config.global.notifyFifo.script, owner: 'global_defs', keyword: 'notify_fifo_script' });
  if (config.global.vrrpNotifyFifo?.script) out.push({ cmd: config.global.vrrpNotifyFifo.script, owner: 'global_defs', keyword: 'vrrp_notify_fifo_script' });
  return out;
}

/** The shell construct that makes this command need a shell, if any. */
export function shellConstruct(argv: readonly string[]): string | null {
  const prog = argv[0] ?? '';
  if (SHELLS.has(path.basename(prog))) return null;
  if (SHELL_WORDS.has(prog)) return prog;
  for (const a of argv) {
    if (SHELL_OPERATORS.has(a) || /^[12]?>/.test(a) || a.includes('$(') || a.includes('`')) return a;
  }
  return null;
}

/** How to write `text` so keepalived (and vipd) run it through a shell. */
export function shellFix(keyword: string, text: string): string {
  const shell = /\[\[|\]\]|<\(|\$\{[^}]*[:/#%]/.test(text) || text.includes('</dev/tcp') ? '/bin/bash' : '/bin/sh';
  const quoted = text.replace(/'/g, `'\\''`).replace(/"/g, '\\"');
  return `${keyword} "${shell} -c '${quoted}'"`;
}

function warn(out: Diagnostic[], loc: SourceLocation, message: string): void {
  out.push({ severity: 'warning', file: loc.file, line: loc.line, col: loc.col, message });
}

/** The checks, pure over the probe. */
export function checkHost(config: Config, probe: HostProbe): Diagnostic[] {
  const out: Diagnostic[] = [];
  const ifaces = config.global.dynamicInterfaces ? null : probe.interfaces();
  const missingIf = (name: string): boolean => ifaces !== null && !ifaces.has(name);

  for (const i of config.instances) {
    const owner = `vrrp_instance ${i.name}`;
    if (i.interface !== null) {
      const loc = i.keywordLocs['interface'] ?? i.loc;
      if (missingIf(i.interface)) warn(out, loc, `${owner}: interface ${i.interface} does not exist on this host`);
      else if (i.interface === 'lo') warn(out, loc, `${owner}: VRRP cannot run on the loopback interface`);
    }
    for (const v of [...i.vips, ...i.excludedVips]) {
      if (v.dev !== undefined && missingIf(v.dev)) warn(out, v.loc, `${owner}: interface ${v.dev} of VIP ${v.address} does not exist on this host`);
    }
    for (const t of i.trackInterfaces) {
      if (missingIf(t.name)) warn(out, t.loc, `${owner}: tracked interface ${t.name} does not exist on this host`);
    }
  }
  for (const g of config.syncGroups) {
    for (const t of g.trackInterfaces) {
      if (missingIf(t.name)) warn(out, t.loc, `vrrp_sync_group ${g.name}: tracked interface ${t.name} does not exist on this host`);
    }
  }

  const users = probe.users();
  const userMissing = (u: string): boolean => users !== null && !users.has(u) && !/^\d+$/.test(u);
  if (config.global.scriptUser !== null && userMissing(config.global.scriptUser.user) && config.global.loc !== null) {
    warn(out, config.global.loc, `global_defs: script_user ${config.global.scriptUser.user} does not exist on this host`);
  }
  for (const s of config.scripts) {
    if (s.user !== null && userMissing(s.user)) warn(out, s.loc, `vrrp_script ${s.name}: user ${s.user} does not exist on this host; keepalived removes the script`);
  }

  for (const { cmd, owner, keyword } of commandUses(config)) {
    const prog = cmd.argv[0] ?? '';
    const what = keyword === 'script' ? owner : `${owner}: ${keyword}`;
    if (cmd.user !== null && userMissing(cmd.user)) {
      warn(
        out,
        cmd.loc,
        `${what}: '${cmd.user}' is read as the user to run '${cmd.text}' as, and no such user exists; keepalived ignores this script. If '${cmd.user}' is an argument, quote the whole command: ${keyword} "${cmd.text} ${cmd.user}${cmd.group !== null ? ` ${cmd.group}` : ''}"`,
      );
    }
    if (cmd.viaShell) {
      if (probe.shIsBash() === false) {
        warn(out, cmd.loc, `${what}: '${cmd.text}' is run with /bin/sh -c, which is not bash on this host, so the /dev/tcp check always fails; write ${shellFix(keyword, cmd.text)}`);
      }
      continue;
    }
    const construct = shellConstruct(cmd.argv);
    const kind = keyword === 'script' ? 'vrrp_script' : 'notify';
    const noShell =
      construct !== null ? ` keepalived (and vipd) run ${kind} commands without a shell, so '${construct}' cannot work; write it as: ${shellFix(keyword, cmd.text)}` : '';
    let resolved: string | null = prog;
    if (!prog.includes('/')) {
      resolved = null;
      for (const dir of probe.pathDirs()) {
        const cand = path.join(dir, prog);
        if (probe.program(cand) === 'ok') {
          resolved = cand;
          break;
        }
      }
      if (resolved === null) {
        warn(out, cmd.loc, `${what}: program '${prog}' is not found in PATH; keepalived disables such a script.${noShell}`);
        continue;
      }
    } else {
      const st = probe.program(prog);
      if (st !== 'ok') {
        const why = st === 'missing' ? 'does not exist on this host' : st === 'not-file' ? 'is not a regular file' : `is not executable (chmod +x ${prog})`;
        warn(out, cmd.loc, `${what}: ${prog} ${why}; keepalived disables such a script.${noShell}`);
        continue;
      }
    }
    if (construct !== null) warn(out, cmd.loc, `${what}: '${cmd.text}' needs a shell:${noShell}`);
  }
  return out;
}

// ---- probes ------------------------------------------------------------------------------

const SYS_NET = '/sys/class/net';

function pathDirsFromEnv(): string[] {
  return (process.env['PATH'] ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':').filter((d) => d !== '');
}

function usersFrom(passwd: string): Set<string> {
  return new Set(
    passwd
      .split('\n')
      .map((l) => l.split(':')[0] ?? '')
      .filter((u) => u !== '' && !u.startsWith('#')),
  );
}

export function systemProbe(): HostProbe {
  return {
    interfaces: () => {
      try {
        return new Set(readdirSync(SYS_NET));
      } catch {
        return null;
      }
    },
    program: (p) => {
      try {
        if (!statSync(p).isFile()) return 'not-file';
      } catch {
        return 'missing';
      }
      try {
        accessSync(p, constants.X_OK);
        return 'ok';
      } catch {
        return 'not-executable';
      }
    },
    pathDirs: pathDirsFromEnv,
    users: () => {
      try {
        return usersFrom(readFileSync('/etc/passwd', 'utf8'));
      } catch {
        return null;
      }
    },
    shIsBash: () => {
      try {
        return path.basename(realpathSync('/bin/sh')) === 'bash';
      } catch {
        return null;
      }
    },
  };
}

export function hostChecks(config: Config, probe: HostProbe = systemProbe()): Diagnostic[] {
  return checkHost(config, probe);
}

/** The same checks with every fact gathered by fs/promises first. */
export async function hostChecksAsync(config: Config): Promise<Diagnostic[]> {
  const [ifaces, passwd, sh] = await Promise.all([
    readdir(SYS_NET).then(
      (l) => new Set(l),
      () => null,
    ),
    readFile('/etc/passwd', 'utf8').then(usersFrom, () => null),
    realpath('/bin/sh').then(
      (p) => path.basename(p) === 'bash',
      () => null,
    ),
  ]);
  const dirs = pathDirsFromEnv();
  const candidates = new Set<string>();
  for (const { cmd } of commandUses(config)) {
    const prog = cmd.argv[0] ?? '';
    if (prog.includes('/')) candidates.add(prog);
    else for (const d of dirs) candidates.add(path.join(d, prog));
  }
  const programs = new Map<string, ProgramStatus>();
  await Promise.all(
    [...candidates].map(async (p) => {
      let st: ProgramStatus;
      try {
        st = (await stat(p)).isFile() ? 'ok' : 'not-file';
        if (st === 'ok') st = await access(p, constants.X_OK).then(() => 'ok' as const, () => 'not-executable' as const);
      } catch {
        st = 'missing';
      }
      programs.set(p, st);
    }),
  );
  return checkHost(config, {
    interfaces: () => ifaces,
    program: (p) => programs.get(p) ?? 'missing',
    pathDirs: () => dirs,
    users: () => passwd,
    shIsBash: () => sh,
  });
}
