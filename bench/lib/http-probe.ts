/** Drives bench/agents/http-probe.js in the client namespace (see there). */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lan, NsProcess } from '../../test/helpers/netns.js';
import { sleep } from './stats.js';

/** dist/bench/lib → dist/bench/agents */
const PROBE_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', 'agents', 'http-probe.js');

export interface Answer {
  /** Wall-clock ms when the answer (or the failure) arrived. */
  readonly t: number;
  readonly who: string | null;
}

export class HttpProbe {
  readonly ip: string;
  readonly #proc: NsProcess;
  #parsed = 0;
  readonly #answers: Answer[] = [];

  private constructor(ip: string, proc: NsProcess) {
    this.ip = ip;
    this.#proc = proc;
  }

  static async start(lan: Lan, host: string, ip: string, periodMs = 10, timeoutMs = 200): Promise<HttpProbe> {
    const proc = lan.spawn(host, [process.execPath, PROBE_PATH, ip, String(periodMs), String(timeoutMs)]);
    await proc.waitForLine(/"ready":true/, { stream: 'stdout', timeoutMs: 15_000 });
    return new HttpProbe(ip, proc);
  }

  on(): void {
    this.#proc.write('on');
  }

  off(): void {
    this.#proc.write('off');
  }

  get answers(): readonly Answer[] {
    const lines = this.#proc.stdout;
    for (; this.#parsed < lines.length; this.#parsed++) {
      const line = lines[this.#parsed] as string;
      if (!line.startsWith('{"t"')) continue;
      this.#answers.push(JSON.parse(line) as Answer);
    }
    return this.#answers;
  }

  /** The first answer from `who` that arrived after wall time `after`. */
  async waitFor(who: string, after: number, timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const a = this.answers.find((x) => x.t > after && x.who === who);
      if (a) return a.t;
      if (!this.#proc.running) throw new Error(`http probe for ${this.ip} exited\n${this.#proc.tail()}`);
      if (performance.now() > deadline) {
        const seen = this.answers.filter((x) => x.t > after).map((x) => x.who ?? 'no answer');
        throw new Error(`no HTTP answer from ${who} via ${this.ip} within ${timeoutMs} ms (saw: ${seen.join(' → ') || 'no change'})`);
      }
      await sleep(10);
    }
  }

  async stop(): Promise<void> {
    await this.#proc.kill('SIGTERM', 2000);
  }
}
