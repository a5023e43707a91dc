/**
 * A CPU hog on every core: `stress-ng --cpu N` when it is installed, else N node
 * processes spinning. It runs inside a benchmark namespace, so tearing the LAN down
 * kills it even if the bench dies.
 */
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import type { Lan, NsProcess } from '../../test/helpers/netns.js';

export type HogKind = 'stress-ng' | 'node';

export async function pickHog(wanted: HogKind | 'auto'): Promise<HogKind> {
  if (wanted !== 'auto') return wanted;
  try {
    await promisify(execFile)('stress-ng', ['--version']);
    return 'stress-ng';
  } catch {
    return 'node';
  }
}

export function describeHog(kind: HogKind): string {
  const n = availableParallelism();
  return kind === 'stress-ng' ? `stress-ng --cpu ${n}` : `${n} node busy loops`;
}

export class Hog {
  readonly #procs: NsProcess[];

  private constructor(procs: NsProcess[]) {
    this.#procs = procs;
  }

  static start(lan: Lan, host: string, kind: HogKind): Hog {
    const n = availableParallelism();
    const procs =
      kind === 'stress-ng'
        ? [lan.spawn(host, ['stress-ng', '--cpu', String(n), '--cpu-method', 'int64', '--quiet'])]
        : Array.from({ length: n }, () => lan.spawn(host, [process.execPath, '-e', 'for(;;){}']));
    return new Hog(procs);
  }

  async stop(): Promise<void> {
    await Promise.all(this.#procs.map((p) => p.kill('SIGTERM', 3000)));
  }
}
