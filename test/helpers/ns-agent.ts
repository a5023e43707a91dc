/**
 * Drives test/netns/agents/net-agent.js in a LAN host over JSON lines:
 *
 *   const a = await NetAgent.start(lan, 'h2');
 *   await a.call('transport.open', { family: 4 });
 *   const pkt = await a.waitForEvent((e) => e.event === 'packet', 5000);
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lan, NsProcess } from './netns.js';

/** dist/test/helpers → dist/test/netns/agents */
export const AGENT_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', 'netns', 'agents', 'net-agent.js');

export type AgentEvent = { readonly event: string } & Readonly<Record<string, unknown>>;

export class AgentCallError extends Error {
  readonly code: string;
  readonly errno: string | undefined;
  constructor(op: string, e: { code: string; errno?: string; message: string }) {
    super(`${op}: ${e.message}`);
    this.code = e.code;
    this.errno = e.errno;
  }
}

export class NetAgent {
  readonly host: string;
  readonly proc: NsProcess;
  #nextId = 1;
  #seen = 0;

  private constructor(host: string, proc: NsProcess) {
    this.host = host;
    this.proc = proc;
  }

  static async start(lan: Lan, host: string, opts: { echo?: boolean } = {}): Promise<NetAgent> {
    const proc = lan.spawn(host, [process.execPath, AGENT_PATH], opts.echo ? { echo: true } : {});
    await proc.waitForLine(/"event":"ready"/, { stream: 'stdout', timeoutMs: 15_000 });
    return new NetAgent(host, proc);
  }

  #parsed(): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    for (const line of this.proc.stdout) {
      try {
        out.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // Not ours (a stray console.log); ignore.
      }
    }
    return out;
  }

  /** Runs one op; resolves with its result, rejects with AgentCallError. */
  async call<T = unknown>(op: string, args: Record<string, unknown> = {}, timeoutMs = 15_000): Promise<T> {
    const id = this.#nextId++;
    const mark = this.proc.mark();
    this.proc.write(JSON.stringify({ ...args, id, op }));
    await this.proc.waitForLine(new RegExp(`^\\{"id":${id},`), { stream: 'stdout', timeoutMs, after: mark });
    const reply = this.#parsed().find((m) => m['id'] === id) as
      | { ok: true; result: T }
      | { ok: false; error: { code: string; errno?: string; message: string } };
    if (!reply.ok) throw new AgentCallError(op, reply.error);
    return reply.result;
  }

  /** Every event printed so far. */
  events(): AgentEvent[] {
    return this.#parsed().filter((m): m is AgentEvent => typeof m['event'] === 'string');
  }

  /** Forget events printed so far: waitForEvent then only sees newer ones. */
  skipSeen(): void {
    this.#seen = this.events().length;
  }

  /** The first event (not skipped) satisfying `pred`. */
  async waitForEvent(pred: (e: AgentEvent) => boolean, timeoutMs = 10_000): Promise<AgentEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.events().slice(this.#seen).find(pred);
      if (hit) return hit;
      if (!this.proc.running) throw new Error(`agent on ${this.host} exited\n${this.proc.tail()}`);
      if (Date.now() > deadline) {
        throw new Error(`agent on ${this.host}: no matching event within ${timeoutMs} ms\n${this.proc.tail()}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Asks the agent to close everything and exit; kills it if it does not. */
  async stop(): Promise<void> {
    if (!this.proc.running) return;
    this.proc.write(JSON.stringify({ id: this.#nextId++, op: 'exit' }));
    const timer = setTimeout(() => void this.proc.kill('SIGKILL'), 5000);
    await this.proc.exited;
    clearTimeout(timer);
  }
}
