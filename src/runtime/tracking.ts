/**
 * The live trackers of one configuration: a ScriptTracker per vrrp_script and a
 * FileTracker per track_file that some instance or sync group tracks. Their results go
 * to the TrackerBoard; the instances whose priority or fault changed are reported back.
 *
 * On reload, trackers whose definition did not change keep running; a changed script
 * starts again from its previous result (keepalived carries OK/failed over a reload).
 *
 * Like keepalived, a script that cannot be run at all when the config is loaded
 * (missing, not executable, or refused by enable_script_security) is disabled: it is
 * logged as an error and tracked by nobody, so it changes no priority. A script that
 * disappears later simply fails.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { Config, TrackFile, VrrpScript } from '../config/model.js';
import type { ScriptUsers } from '../exec/users.js';
import { FileTracker, type FileTrackerInfo } from '../track/files.js';
import { checkProgram } from '../track/program-check.js';
import { ScriptTracker, type ScriptTrackerInfo } from '../track/scripts.js';
import type { PriorityChange, TrackerBoard } from './trackers.js';

export interface TrackingOptions {
  readonly board: TrackerBoard;
  readonly log: Logger;
  /** Instances whose priority/fault changed because a tracker changed. */
  readonly onChanges: (changes: PriorityChange[]) => void;
}

interface Live<T, C> {
  readonly tracker: T;
  readonly def: C;
}

/** Everything of a definition except where it was written. */
function same<T extends { loc: unknown }>(a: T, b: T): boolean {
  const { loc: _a, ...ra } = a;
  const { loc: _b, ...rb } = b;
  const strip = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (k, x: unknown) => (k === 'loc' ? undefined : x)));
  return isDeepStrictEqual(strip(ra), strip(rb));
}

export class Tracking {
  readonly #o: TrackingOptions;
  readonly #scripts = new Map<string, Live<ScriptTracker, VrrpScript>>();
  readonly #files = new Map<string, Live<FileTracker, TrackFile>>();
  readonly #disabled = new Map<string, string>();

  constructor(opts: TrackingOptions) {
    this.#o = opts;
  }

  /** Whether a vrrp_script was disabled at load time (it then tracks nothing). */
  disabled(script: string): string | undefined {
    return this.#disabled.get(script);
  }

  /** Brings the trackers in line with `config` (start-up and reload). */
  async apply(config: Config, users: ScriptUsers, reload: boolean): Promise<void> {
    const usedScripts = new Set<string>();
    const usedFiles = new Set<string>();
    for (const owner of [...config.instances, ...config.syncGroups]) {
      for (const r of owner.trackScripts) usedScripts.add(r.name);
      for (const r of owner.trackFiles) usedFiles.add(r.name);
    }

    // Scripts: stop what went away or changed, start what is new.
    this.#disabled.clear();
    const snapshots = new Map<string, ReturnType<ScriptTracker['snapshot']>>();
    for (const [name, live] of this.#scripts) {
      const def = config.scripts.find((s) => s.name === name);
      if (def !== undefined && usedScripts.has(name) && same(def, live.def)) continue;
      snapshots.set(name, live.tracker.snapshot());
      this.#scripts.delete(name);
      await live.tracker.close();
    }
    for (const def of config.scripts) {
      if (!usedScripts.has(def.name) || this.#scripts.has(def.name)) continue;
      const creds = users.resolve(def.user ?? config.global.scriptUser?.user ?? null, def.group ?? config.global.scriptUser?.group ?? null);
      const argv0 = def.command.viaShell ? '/bin/sh' : (def.command.argv[0] ?? '');
      const check = await checkProgram(argv0, { creds, scriptSecurity: config.global.enableScriptSecurity });
      if (!check.ok) {
        this.#disabled.set(def.name, check.message);
        this.#o.log.error(
          { script: def.name, problem: check.problem },
          `Disabling track script ${def.name}: ${check.message} (keepalived does the same; fix the script, then reload)`,
        );
        continue;
      }
      const snapshot = snapshots.get(def.name);
      const tracker = new ScriptTracker({
        script: def,
        users,
        log: this.#o.log,
        scriptSecurity: config.global.enableScriptSecurity,
        onStatus: (name, status) => this.#o.onChanges(this.#o.board.set('script', name, status)),
        ...(snapshot !== undefined ? { resume: snapshot } : {}),
      });
      this.#scripts.set(def.name, { tracker, def });
      this.#o.board.set('script', def.name, tracker.status());
      tracker.start();
    }

    // track_files: likewise; the first value is read before instances subscribe.
    for (const [name, live] of this.#files) {
      const def = config.trackFiles.find((f) => f.name === name);
      if (def !== undefined && usedFiles.has(name) && same(def, live.def)) continue;
      this.#files.delete(name);
      await live.tracker.close();
    }
    await Promise.all(
      config.trackFiles
        .filter((def) => usedFiles.has(def.name) && !this.#files.has(def.name))
        .map(async (def) => {
          const tracker = new FileTracker({
            file: def,
            log: this.#o.log,
            reload,
            onValue: (name, value) => this.#o.onChanges(this.#o.board.set('file', name, value)),
          });
          this.#files.set(def.name, { tracker, def });
          await tracker.start();
          this.#o.board.set('file', def.name, tracker.value());
        }),
    );
  }

  scriptInfo(name: string): ScriptTrackerInfo | undefined {
    return this.#scripts.get(name)?.tracker.info();
  }

  fileInfo(name: string): FileTrackerInfo | undefined {
    return this.#files.get(name)?.tracker.info();
  }

  /** Stops every tracker (kills running scripts). Safe to call twice. */
  async close(): Promise<void> {
    const all = [...this.#scripts.values(), ...this.#files.values()].map((l) => l.tracker.close());
    this.#scripts.clear();
    this.#files.clear();
    await Promise.all(all);
  }
}
