/**
 * Loads the in-tree N-API addon (native/vipd_native.c, built by `npm ci` through
 * binding.gyp) and turns its errno-carrying errors into VipdErrors.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getSystemErrorName } from 'node:util';
import { VipdError, type VipdErrorCode } from '../errors.js';

/** Opaque handle of an open IPv6 raw socket. */
export interface Raw6Handle {
  readonly __raw6: unique symbol;
}

export type Raw6Callback = (
  err: (Error & { errno?: number }) | null,
  bytes?: Buffer,
  src?: string,
  dst?: string,
  hopLimit?: number,
  truncated?: boolean,
) => void;

export interface NativeAddon {
  /** 0 when there is no such interface. */
  ifNameToIndex(name: string): number;
  ifIndexToName(index: number): string | null;
  packetOpen(): number;
  packetSend(fd: number, ifindex: number, frame: Uint8Array): number;
  fdClose(fd: number): void;
  raw6Open(ifname: string, protocol: number, checksumOffset: number, onMessage: Raw6Callback): Raw6Handle;
  raw6Membership(handle: Raw6Handle, group: string, join: boolean): void;
  raw6Send(handle: Raw6Handle, bytes: Uint8Array, dst: string, src: string): number;
  raw6Close(handle: Raw6Handle): void;
  raw6Ref(handle: Raw6Handle, ref: boolean): void;
}

const ADDON_FILE = join('build', 'Release', 'vipd_native.node');
let cached: NativeAddon | undefined;

/** Walks up from this file to the package root (works from src/ and from dist/src/). */
function findAddon(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, ADDON_FILE);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

/**
 * The addon, loaded on first use (at daemon start-up, when sockets are opened).
 * Throws VipdError('ENATIVE') when it was not built or does not load.
 */
export function loadNative(): NativeAddon {
  if (cached) return cached;
  const path = findAddon();
  if (!path) {
    throw new VipdError(
      'ENATIVE',
      `native addon ${ADDON_FILE} not found: build it with \`npm ci\` (or \`npm run install\` for the addon alone); it needs python3, make and a C compiler`,
    );
  }
  try {
    cached = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (err) {
    throw new VipdError('ENATIVE', `native addon ${path} failed to load: ${(err as Error).message}`, { cause: err });
  }
  return cached;
}

/**
 * The errno name ("ENETUNREACH") of an error thrown by the addon or netlink, or of the
 * cause of a VipdError built by systemError(), if there is one.
 */
export function errnoName(err: unknown): string | undefined {
  if (err instanceof VipdError) return errnoName(err.cause);
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; errno?: unknown };
  if (typeof e.code === 'string' && /^E[A-Z0-9]+$/.test(e.code)) return e.code;
  if (typeof e.errno === 'number' && e.errno !== 0) {
    try {
      return getSystemErrorName(-Math.abs(e.errno));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** A VipdError whose message starts with what was attempted and ends with the errno name and text. */
export function systemError(code: VipdErrorCode, what: string, err: unknown): VipdError {
  const name = errnoName(err);
  const text = err instanceof Error ? err.message : String(err);
  return new VipdError(code, `${what}: ${name ? `${name} (${text})` : text}`, { cause: err });
}
