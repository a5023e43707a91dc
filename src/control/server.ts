/**
 * Control socket server: a unix socket, mode 0600 in a 0700 directory, so only root
 * (the daemon's user) can connect. Each connection may send several requests; the
 * handler's answers go back in order. Oversized or malformed input gets an error
 * response and the connection is closed.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { mkdir, chmod, unlink, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { VipdError } from '../errors.js';
import {
  MAX_REQUEST_BYTES,
  parseRequest,
  type ControlCommand,
  type ControlResponse,
} from './protocol.js';

export type ControlHandler = (cmd: ControlCommand) => Promise<unknown>;

export interface ControlServerOptions {
  readonly path: string;
  readonly handler: ControlHandler;
  /** Connections beyond this are closed at once (default 64). */
  readonly maxClients?: number;
  /** Idle connections are closed after this many ms (default 10 s). */
  readonly idleTimeoutMs?: number;
}

export interface ControlServer {
  readonly path: string;
  close(): Promise<void>;
}

/** Whether something accepts connections on the unix socket `path` (a stale file does not). */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(path);
    probe.setTimeout(1000, () => {
      probe.destroy();
      resolve(true); // it exists and accepted the connection, but is slow: still somebody's
    });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

function errorResponse(code: string, message: string): ControlResponse {
  return { ok: false, error: { code, message } };
}

export async function startControlServer(opts: ControlServerOptions): Promise<ControlServer> {
  const dir = dirname(opts.path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode does not apply to a directory that already exists (/run/vipd from an earlier run).
  const st = await stat(dir);
  if (st.uid === process.getuid?.()) await chmod(dir, 0o700);
  // A socket that answers belongs to a running vipd: two daemons on one host would both
  // send adverts for the same VRIDs. keepalived refuses a second instance too.
  if (await answers(opts.path)) {
    throw new VipdError('ECONTROL', `another vipd is already running (its control socket ${opts.path} answers)`);
  }
  await unlink(opts.path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });

  const maxClients = opts.maxClients ?? 64;
  const idleTimeoutMs = opts.idleTimeoutMs ?? 10_000;
  const sockets = new Set<Socket>();

  const server: Server = createServer((sock) => {
    if (sockets.size >= maxClients) {
      sock.end(JSON.stringify(errorResponse('EBUSY', 'too many control clients')) + '\n');
      sock.destroy();
      return;
    }
    sockets.add(sock);
    sock.setEncoding('utf8');
    sock.setTimeout(idleTimeoutMs, () => sock.destroy());
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => sock.destroy());

    let buffered = '';
    let chain = Promise.resolve();
    const refuse = (message: string): void => {
      sock.end(JSON.stringify(errorResponse('ECONTROL', message)) + '\n');
    };
    sock.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line === '') continue;
        if (Buffer.byteLength(line) > MAX_REQUEST_BYTES) {
          refuse(`request longer than ${MAX_REQUEST_BYTES} bytes`);
          buffered = '';
          return;
        }
        const req = parseRequest(line);
        if ('error' in req) {
          chain = chain.then(() => refuse(req.error));
          buffered = '';
          return;
        }
        chain = chain.then(async () => {
          let res: ControlResponse;
          try {
            res = { ok: true, data: await opts.handler(req.cmd) };
          } catch (err) {
            const code = err instanceof VipdError ? err.code : 'EINTERNAL';
            res = errorResponse(code, err instanceof Error ? err.message : String(err));
          }
          if (!sock.destroyed) sock.write(JSON.stringify(res) + '\n');
        });
      }
      if (Buffer.byteLength(buffered) > MAX_REQUEST_BYTES) {
        refuse(`request longer than ${MAX_REQUEST_BYTES} bytes`);
        buffered = '';
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(opts.path, 0o600);

  let closed: Promise<void> | null = null;
  return {
    path: opts.path,
    close() {
      closed ??= new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          unlink(opts.path).catch(() => undefined).finally(resolve);
        });
      });
      return closed;
    },
  };
}
