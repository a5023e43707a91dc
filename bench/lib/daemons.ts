/**
 * The two implementations behind one interface, started the way an operator runs them:
 *   vipd:       node bin/vipd -f <conf> --control-socket <sock> -p <pid>
 *   keepalived: keepalived -n -l -D -P -R -f <conf> -p <pid> -r <vrrp pid> -c <checker pid>
 * (-R: no respawn, so SIGKILL of the VRRP child is a crash, as SIGKILL of vipd is.)
 * crash()/terminate() return the wall-clock time at which the signal was sent.
 */
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from '../../src/control/client.js';
import type { StatusDocument } from '../../src/control/status.js';
import type { Lan, NsProcess } from '../../test/helpers/netns.js';
import { REPO_ROOT, VIPD_BIN } from '../../test/helpers/vipd.js';
import { sleep, wallMs } from './stats.js';

export type Impl = 'vipd' | 'keepalived';
export const IMPLS: readonly Impl[] = ['vipd', 'keepalived'];

export interface Daemon {
  readonly impl: Impl;
  readonly host: string;
  readonly running: boolean;
  writeConfig(text: string): Promise<void>;
  /** Spawns the daemon and resolves once it has read its config. */
  start(): Promise<void>;
  /** SIGKILL (keepalived: its VRRP child, then the parent); returns when the signal went out. */
  crash(): Promise<{ at: number; exited: Promise<void> }>;
  /** SIGTERM: a MASTER sends priority 0 and removes its VIPs. */
  terminate(): Promise<{ at: number; exited: Promise<void> }>;
  /** Each instance's state as the daemon reports it (INIT when not running). */
  states(): Promise<Map<string, string>>;
  /** How many times, since start, any instance entered MASTER. */
  masterEntries(): Promise<number>;
  /** The processes whose CPU time and memory count as the daemon's. */
  pids(): Promise<number[]>;
  tail(): string;
}

export interface DaemonOptions {
  /** Extra node options for vipd (e.g. --cpu-prof). */
  readonly nodeArgs?: readonly string[];
}

export function makeDaemon(impl: Impl, lan: Lan, host: string, dir: string, opts: DaemonOptions = {}): Daemon {
  return impl === 'vipd' ? new VipdDaemon(lan, host, dir, opts.nodeArgs ?? []) : new KeepalivedDaemon(lan, host, dir);
}

async function waitExit(proc: NsProcess, graceMs: number): Promise<void> {
  const t = setTimeout(() => void proc.kill('SIGKILL'), graceMs);
  await proc.exited;
  clearTimeout(t);
}

class VipdDaemon implements Daemon {
  readonly impl = 'vipd';
  readonly host: string;
  readonly #lan: Lan;
  readonly #conf: string;
  readonly #sock: string;
  readonly #pid: string;
  readonly #nodeArgs: readonly string[];
  #proc: NsProcess | undefined;

  constructor(lan: Lan, host: string, dir: string, nodeArgs: readonly string[]) {
    this.#lan = lan;
    this.host = host;
    this.#conf = join(dir, `${host}-vipd.conf`);
    this.#sock = join(dir, `${host}-vipd.sock`);
    this.#pid = join(dir, `${host}-vipd.pid`);
    this.#nodeArgs = nodeArgs;
  }

  get running(): boolean {
    return this.#proc?.running ?? false;
  }

  writeConfig(text: string): Promise<void> {
    return writeFile(this.#conf, text);
  }

  async start(): Promise<void> {
    if (this.running) throw new Error(`vipd on ${this.host} is running`);
    await rm(this.#sock, { force: true });
    const argv = [process.execPath, ...this.#nodeArgs, VIPD_BIN, '-f', this.#conf, '--control-socket', this.#sock, '-p', this.#pid];
    const proc = this.#lan.spawn(this.host, argv, { cwd: REPO_ROOT });
    this.#proc = proc;
    const deadline = performance.now() + 30_000;
    for (;;) {
      try {
        await request(this.#sock, 'status', 2000);
        return;
      } catch (err) {
        if (!proc.running) throw new Error(`vipd on ${this.host} exited at start-up\n${proc.tail()}`);
        if (performance.now() > deadline) throw new Error(`vipd on ${this.host} does not answer: ${String(err)}\n${proc.tail()}`);
        await sleep(50);
      }
    }
  }

  #signal(sig: NodeJS.Signals): { at: number; exited: Promise<void> } {
    const proc = this.#proc;
    if (!proc?.running || proc.pid === undefined) throw new Error(`vipd on ${this.host} is not running`);
    const at = wallMs();
    process.kill(proc.pid, sig);
    return { at, exited: waitExit(proc, 10_000) };
  }

  crash(): Promise<{ at: number; exited: Promise<void> }> {
    return Promise.resolve(this.#signal('SIGKILL'));
  }

  terminate(): Promise<{ at: number; exited: Promise<void> }> {
    return Promise.resolve(this.#signal('SIGTERM'));
  }

  async states(): Promise<Map<string, string>> {
    if (!this.running) return new Map();
    const doc = (await request(this.#sock, 'status', 5000)) as StatusDocument;
    return new Map(doc.instances.map((i) => [i.name, i.state]));
  }

  async masterEntries(): Promise<number> {
    const doc = (await request(this.#sock, 'status', 5000)) as StatusDocument;
    return doc.instances.reduce((n, i) => n + i.stats.becameMaster, 0);
  }

  async pids(): Promise<number[]> {
    const pid = this.#proc?.pid;
    return this.running && pid !== undefined ? [pid] : [];
  }

  tail(): string {
    return `--- vipd on ${this.host}:\n${this.#proc?.tail(20) ?? '(never started)'}`;
  }
}

const STATE_LINE = /\((\S+)\) Entering (MASTER|BACKUP|FAULT) STATE/;

class KeepalivedDaemon implements Daemon {
  readonly impl = 'keepalived';
  readonly host: string;
  readonly #lan: Lan;
  readonly #conf: string;
  readonly #pid: string;
  readonly #vrrpPid: string;
  readonly #checkPid: string;
  #proc: NsProcess | undefined;
  #child = 0;
  #states = new Map<string, string>();
  #parsed = { stdout: 0, stderr: 0 };

  constructor(lan: Lan, host: string, dir: string) {
    this.#lan = lan;
    this.host = host;
    this.#conf = join(dir, `${host}-keepalived.conf`);
    this.#pid = join(dir, `${host}-keepalived.pid`);
    this.#vrrpPid = join(dir, `${host}-keepalived-vrrp.pid`);
    this.#checkPid = join(dir, `${host}-keepalived-check.pid`);
  }

  get running(): boolean {
    return this.#proc?.running ?? false;
  }

  writeConfig(text: string): Promise<void> {
    return writeFile(this.#conf, text);
  }

  async start(): Promise<void> {
    if (this.running) throw new Error(`keepalived on ${this.host} is running`);
    await Promise.all([this.#pid, this.#vrrpPid, this.#checkPid].map((f) => rm(f, { force: true })));
    const proc = this.#lan.spawn(this.host, [
      'keepalived', '-n', '-l', '-D', '-P', '-R', '-f', this.#conf,
      '-p', this.#pid, '-r', this.#vrrpPid, '-c', this.#checkPid,
    ]);
    this.#proc = proc;
    this.#states = new Map();
    this.#parsed = { stdout: 0, stderr: 0 };
    await proc.waitForLine(/Startup complete/, { timeoutMs: 30_000 });
    // Read now, so that crash() sends its signal without a file read first.
    this.#child = await this.#vrrpChild();
  }

  async #vrrpChild(): Promise<number> {
    const deadline = performance.now() + 10_000;
    for (;;) {
      const pid = Number((await readFile(this.#vrrpPid, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 1) return pid;
      if (performance.now() > deadline) throw new Error(`keepalived on ${this.host} wrote no VRRP pid file`);
      await sleep(50);
    }
  }

  async crash(): Promise<{ at: number; exited: Promise<void> }> {
    const proc = this.#proc;
    if (!proc?.running) throw new Error(`keepalived on ${this.host} is not running`);
    const at = wallMs();
    process.kill(this.#child, 'SIGKILL');
    // With -R the parent exits once its VRRP child is gone; make sure of it.
    return { at, exited: waitExit(proc, 5000) };
  }

  async terminate(): Promise<{ at: number; exited: Promise<void> }> {
    const proc = this.#proc;
    if (!proc?.running || proc.pid === undefined) throw new Error(`keepalived on ${this.host} is not running`);
    const at = wallMs();
    process.kill(proc.pid, 'SIGTERM');
    return { at, exited: waitExit(proc, 15_000) };
  }

  async states(): Promise<Map<string, string>> {
    const proc = this.#proc;
    if (!proc?.running) return new Map();
    // -l logs to stderr; scan both streams, each in order.
    for (const stream of ['stdout', 'stderr'] as const) {
      const lines = proc[stream];
      for (let i = this.#parsed[stream]; i < lines.length; i++) {
        const m = STATE_LINE.exec(lines[i] as string);
        if (m) this.#states.set(m[1] as string, m[2] as string);
      }
      this.#parsed[stream] = lines.length;
    }
    return new Map(this.#states);
  }

  async masterEntries(): Promise<number> {
    const proc = this.#proc;
    if (!proc) return 0;
    return [...proc.stdout, ...proc.stderr].filter((l) => STATE_LINE.exec(l)?.[2] === 'MASTER').length;
  }

  async pids(): Promise<number[]> {
    const root = this.#proc?.pid;
    if (!this.running || root === undefined) return [];
    return [root, ...(await descendants(root))];
  }

  tail(): string {
    return `--- keepalived on ${this.host}:\n${this.#proc?.tail(20) ?? '(never started)'}`;
  }
}

/** Every descendant of `root`, from the ppid field of /proc/<pid>/stat. */
export async function descendants(root: number): Promise<number[]> {
  const parent = new Map<number, number>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (rest[1] !== undefined) parent.set(Number(name), Number(rest[1]));
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const [pid, pp] of parent) {
      if (pp === p) {
        out.push(pid);
        walk(pid);
      }
    }
  };
  walk(root);
  return out;
}

/** Polls until every named instance of `d` is in `state`. */
export async function waitForStates(d: Daemon, names: readonly string[], state: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const s = await d.states().catch(() => new Map<string, string>());
    const wrong = names.filter((n) => s.get(n) !== state);
    if (wrong.length === 0) return;
    if (performance.now() > deadline) {
      const sample = wrong.slice(0, 5).map((n) => `${n}=${s.get(n) ?? '?'}`).join(', ');
      throw new Error(`${d.impl} on ${d.host}: ${wrong.length} instance(s) not ${state} after ${timeoutMs} ms (${sample})\n${d.tail()}`);
    }
    await sleep(100);
  }
}
