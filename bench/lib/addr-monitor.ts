/**
 * Kernel news about addresses in one namespace: `ip -ts -o monitor address` stamps each
 * RTM_NEWADDR/RTM_DELADDR with the wall clock (µs) the moment it reads it, so "the VIP
 * is on the backup" is timed by the kernel's notification, not by a polling loop.
 */
import type { Lan, NsProcess } from '../../test/helpers/netns.js';
import { sleep } from './stats.js';

export interface AddrEvent {
  /** Wall-clock ms. */
  readonly t: number;
  readonly added: boolean;
  readonly ifname: string;
  readonly address: string;
}

// [2026-11-22T02:47:23.422750] Deleted 5: eth0    inet 10.76.0.100/24 scope global secondary eth0\ ...
const LINE = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{1,9})\] (Deleted )?\d+: (\S+)\s+inet6? ([0-9a-fA-F.:]+)\//;

export function parseAddrLine(line: string): AddrEvent | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const [, date, frac, deleted, ifname, address] = m as unknown as [string, string, string, string | undefined, string, string];
  // TZ=UTC in the monitor's environment makes its local time UTC.
  const t = Date.parse(`${date}Z`) + Number(`0.${frac}`) * 1000;
  return { t, added: deleted === undefined, ifname, address };
}

export class AddrMonitor {
  readonly host: string;
  readonly #proc: NsProcess;
  #parsed = 0;
  readonly #events: AddrEvent[] = [];

  private constructor(host: string, proc: NsProcess) {
    this.host = host;
    this.#proc = proc;
  }

  static async start(lan: Lan, host: string): Promise<AddrMonitor> {
    const proc = lan.spawn(host, ['ip', '-ts', '-o', 'monitor', 'address'], { env: { ...process.env, TZ: 'UTC' } });
    await sleep(300); // it prints nothing when ready; give it time to subscribe
    if (!proc.running) throw new Error(`ip monitor in ${host} exited\n${proc.tail()}`);
    return new AddrMonitor(host, proc);
  }

  get events(): readonly AddrEvent[] {
    const lines = this.#proc.stdout;
    for (; this.#parsed < lines.length; this.#parsed++) {
      const e = parseAddrLine(lines[this.#parsed] as string);
      if (e) this.#events.push(e);
    }
    return this.#events;
  }

  /** The first time `address` was added (or deleted, with added=false) after wall time `after`. */
  async waitFor(address: string, after: number, timeoutMs: number, added = true): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const e = this.events.find((x) => x.t > after && x.address === address && x.added === added);
      if (e) return e.t;
      if (!this.#proc.running) throw new Error(`ip monitor in ${this.host} exited`);
      if (performance.now() > deadline) {
        throw new Error(`${address} not ${added ? 'added on' : 'deleted from'} ${this.host} within ${timeoutMs} ms`);
      }
      await sleep(10);
    }
  }

  async stop(): Promise<void> {
    await this.#proc.kill('SIGTERM', 2000);
  }
}
