/**
 * Notifications on state changes, as keepalived sends them (vrrp_notify.c):
 * - notify_master / notify_backup / notify_fault / notify_stop run with their own
 *   configured arguments;
 * - `notify` runs with four more: `INSTANCE|GROUP <name> <state> <priority>`;
 * - notify_fifo / vrrp_notify_fifo get one line per change: `INSTANCE "VI_1" MASTER 150`.
 * Scripts run detached from the advert path: started and forgotten, with a timeout,
 * their outcome logged when they end.
 */
import type { Logger } from 'pino';
import type { Command, NotifyScripts } from '../config/model.js';
import { describeOutcome, runCommand, shellQuote } from '../exec/run-command.js';
import type { ScriptUsers } from '../exec/users.js';
import { checkProgram } from '../track/program-check.js';

export type NotifyState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP';

export interface NotifyTarget {
  readonly kind: 'INSTANCE' | 'GROUP';
  readonly name: string;
  readonly scripts: NotifyScripts;
}

/** A sink for FIFO lines (see fifo.ts); the notifier does not care how they are written. */
export interface NotifyLineSink {
  write(line: string): void;
}

export interface NotifierOptions {
  readonly log: Logger;
  readonly users: ScriptUsers;
  /** Notify scripts still running after this are killed (default 30 s). */
  readonly timeoutMs?: number;
  readonly fifos?: readonly NotifyLineSink[];
  /** enable_script_security: refuse notify scripts a non-root user could modify (keepalived does). */
  readonly scriptSecurity?: boolean;
}

export class Notifier {
  readonly #log: Logger;
  #users: ScriptUsers;
  #scriptSecurity: boolean;
  readonly #timeoutMs: number;
  readonly #fifos: readonly NotifyLineSink[];
  readonly #running = new Set<Promise<void>>();

  constructor(opts: NotifierOptions) {
    this.#log = opts.log;
    this.#users = opts.users;
    this.#scriptSecurity = opts.scriptSecurity ?? false;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#fifos = opts.fifos ?? [];
  }

  /** After a reload: users re-read, enable_script_security possibly changed. */
  configure(users: ScriptUsers, scriptSecurity: boolean): void {
    this.#users = users;
    this.#scriptSecurity = scriptSecurity;
  }

  /**
   * vrrp_notify_priority_changes: keepalived writes `INSTANCE "VI_1" MASTER_PRIORITY 140`
   * (or BACKUP_PRIORITY) to the FIFOs only; no script runs.
   */
  priorityChanged(target: NotifyTarget, state: 'MASTER' | 'BACKUP', priority: number): void {
    const line = `${target.kind} "${target.name}" ${state}_PRIORITY ${priority}`;
    for (const fifo of this.#fifos) fifo.write(line);
  }

  notify(target: NotifyTarget, state: NotifyState, priority: number): void {
    const line = `${target.kind} "${target.name}" ${state} ${priority}`;
    for (const fifo of this.#fifos) fifo.write(line);

    const specific = scriptFor(target.scripts, state);
    if (specific !== null) this.#run(target, specific, []);
    const any = target.scripts.any;
    if (any !== null) this.#run(target, any, [target.kind, target.name, state, String(priority)]);
  }

  /** Runs `cmd` with `extra` arguments appended (quoted when the command goes through a shell). */
  #run(target: NotifyTarget, cmd: Command, extra: readonly string[]): void {
    const creds = this.#users.resolve(cmd.user, cmd.group);
    const log = this.#log.child({ [target.kind === 'GROUP' ? 'group' : 'instance']: target.name });
    const runArgv = cmd.viaShell
      ? ['/bin/sh', '-c', [cmd.text, ...extra.map(shellQuote)].join(' ')]
      : [...cmd.argv, ...extra];
    const p = checkProgram(runArgv[0] ?? '', { creds, scriptSecurity: this.#scriptSecurity }).then(async (check) => {
      if (!check.ok) {
        log.error({ script: cmd.text, problem: check.problem }, `(${target.name}) not running notify script ${cmd.text}: ${check.message}`);
        return;
      }
      const r = await runCommand({ argv: [check.path, ...runArgv.slice(1)], timeoutMs: this.#timeoutMs, ...creds });
      if (r.outcome.kind === 'exit' && r.outcome.code === 0) {
        log.debug({ script: cmd.text, ms: Math.round(r.durationMs) }, 'notify script done');
      } else {
        log.warn(
          { script: cmd.text, outcome: describeOutcome(r.outcome), output: r.output.trim().slice(0, 500) },
          `(${target.name}) notify script ${cmd.text} ${describeOutcome(r.outcome)}`,
        );
      }
    });
    this.#running.add(p);
    void p.finally(() => this.#running.delete(p));
  }

  /** Waits up to `ms` for running notify scripts (used for notify_stop on shutdown). */
  async settle(ms: number): Promise<void> {
    if (this.#running.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.#running]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
      }),
    ]);
    clearTimeout(timer);
  }
}

function scriptFor(scripts: NotifyScripts, state: NotifyState): Command | null {
  switch (state) {
    case 'MASTER':
      return scripts.master;
    case 'BACKUP':
      return scripts.backup;
    case 'FAULT':
      return scripts.fault;
    case 'STOP':
      return scripts.stop;
  }
}
