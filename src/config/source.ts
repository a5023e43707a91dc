/**
 * File access for the config loader. The loader is written once as a generator that
 * yields file requests; `runSync` answers them with blocking calls (start-up, `vipd -t`)
 * and `runAsync` with fs/promises (the daemon's reload path), so both share every line
 * of parsing code and the core stays testable over an in-memory file system.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';

export interface FileStat {
  readonly kind: 'file' | 'dir' | 'other';
  /** Any execute bit set (keepalived refuses executable config files). */
  readonly executable: boolean;
}

export type FsRequest =
  | { readonly op: 'read'; readonly path: string }
  | { readonly op: 'readdir'; readonly path: string }
  | { readonly op: 'stat'; readonly path: string };

/** The answer to one request: exactly one of the fields is set. */
export interface FsAnswer {
  readonly text?: string;
  readonly entries?: string[];
  readonly stat?: FileStat | null;
  /** errno code or message when the request failed. */
  readonly error?: string;
}

export type FsTask<T> = Generator<FsRequest, T, FsAnswer>;

export interface ConfigFsSync {
  readFile(path: string): string;
  readdir(path: string): string[];
  /** null when the path does not exist. */
  stat(path: string): FileStat | null;
}

export interface ConfigFsAsync {
  readFile(path: string): Promise<string>;
  readdir(path: string): Promise<string[]>;
  stat(path: string): Promise<FileStat | null>;
}

function errText(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return err instanceof Error ? err.message : String(err);
}

function statOf(s: { isFile(): boolean; isDirectory(): boolean; mode: number }): FileStat {
  return { kind: s.isFile() ? 'file' : s.isDirectory() ? 'dir' : 'other', executable: (s.mode & 0o111) !== 0 };
}

export const nodeFsSync: ConfigFsSync = {
  readFile: (p) => readFileSync(p, 'utf8'),
  readdir: (p) => readdirSync(p),
  stat: (p) => {
    try {
      return statOf(statSync(p));
    } catch {
      return null;
    }
  },
};

export const nodeFsAsync: ConfigFsAsync = {
  readFile: (p) => readFile(p, 'utf8'),
  readdir: (p) => readdir(p),
  stat: async (p) => {
    try {
      return statOf(await stat(p));
    } catch {
      return null;
    }
  },
};

/**
 * An in-memory file system (absolute paths). Directories are implied by the files
 * under them; a path listed in `executables` reports an execute bit.
 */
export function memoryFs(files: Readonly<Record<string, string>>, executables: readonly string[] = []): ConfigFsSync & { async: ConfigFsAsync } {
  const norm = (p: string): string => (p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p);
  const isDir = (p: string): boolean => {
    const prefix = p === '/' ? '/' : `${norm(p)}/`;
    return Object.keys(files).some((f) => f.startsWith(prefix));
  };
  const sync: ConfigFsSync = {
    readFile(p) {
      const text = files[norm(p)];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: isDir(p) ? 'EISDIR' : 'ENOENT' });
      return text;
    },
    readdir(p) {
      if (!isDir(p)) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
      const prefix = p === '/' ? '/' : `${norm(p)}/`;
      const names = new Set<string>();
      for (const f of Object.keys(files)) {
        if (f.startsWith(prefix)) names.add(f.slice(prefix.length).split('/')[0] ?? '');
      }
      names.delete('');
      return [...names];
    },
    stat(p) {
      if (files[norm(p)] !== undefined) return { kind: 'file', executable: executables.includes(norm(p)) };
      return isDir(p) ? { kind: 'dir', executable: true } : null;
    },
  };
  return {
    ...sync,
    async: {
      readFile: async (p) => sync.readFile(p),
      readdir: async (p) => sync.readdir(p),
      stat: async (p) => sync.stat(p),
    },
  };
}

export function runSync<T>(task: FsTask<T>, fs: ConfigFsSync = nodeFsSync): T {
  let step = task.next();
  while (!step.done) {
    step = task.next(answerSync(step.value, fs));
  }
  return step.value;
}

function answerSync(req: FsRequest, fs: ConfigFsSync): FsAnswer {
  try {
    switch (req.op) {
      case 'read':
        return { text: fs.readFile(req.path) };
      case 'readdir':
        return { entries: fs.readdir(req.path) };
      case 'stat':
        return { stat: fs.stat(req.path) };
    }
  } catch (err) {
    return { error: errText(err) };
  }
}

export async function runAsync<T>(task: FsTask<T>, fs: ConfigFsAsync = nodeFsAsync): Promise<T> {
  let step = task.next();
  while (!step.done) {
    step = task.next(await answerAsync(step.value, fs));
  }
  return step.value;
}

async function answerAsync(req: FsRequest, fs: ConfigFsAsync): Promise<FsAnswer> {
  try {
    switch (req.op) {
      case 'read':
        return { text: await fs.readFile(req.path) };
      case 'readdir':
        return { entries: await fs.readdir(req.path) };
      case 'stat':
        return { stat: await fs.stat(req.path) };
    }
  } catch (err) {
    return { error: errText(err) };
  }
}

export function* fsRead(path: string): FsTask<{ text: string } | { error: string }> {
  const a = yield { op: 'read', path };
  return a.text !== undefined ? { text: a.text } : { error: a.error ?? 'unreadable' };
}

export function* fsReaddir(path: string): FsTask<string[] | null> {
  const a = yield { op: 'readdir', path };
  return a.entries ?? null;
}

export function* fsStat(path: string): FsTask<FileStat | null> {
  const a = yield { op: 'stat', path };
  return a.stat ?? null;
}
