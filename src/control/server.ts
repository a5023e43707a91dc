/**
 * Control socket server: a unix socket, mode 0600 in a 0700 directory, so only root
 * (the daemon's user) can connect. Each connection may send several requests; the
 * handler's answers go back in order, and a client that does not read them is not read
 * either (back-pressure), so no client can make the daemon buffer without end. Oversized
 * or malformed input gets an error response and the daemon closes the connection; past
 * `maxClients`, new clients get an EBUSY answer.
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

/** Requests a connection may have outstanding before the server stops reading it. */
const MAX_PENDING = 8;
/** How long a refused client may take to read its error before the server cuts it off. */
const CLOSE_GRACE_MS = 500;

/** Resolves when the socket's write buffer has drained, or the socket is gone. */
function drained(sock: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      sock.off('drain', done);
      sock.off('close', done);
      resolve();
    };
    sock.on('drain', done);
    sock.on('close', done);
  });
}

/**
 * Sends a last line and closes the connection from our side: whatever the client still
 * sends is read and dropped (closing on unread data could cost it the line), and a client
 * that keeps its end open is cut off after a short grace.
 */
function closeWith(sock: Socket, res: ControlResponse): void {
  if (sock.destroyed) return;
  sock.on('error', () => sock.destroy());
  sock.on('data', () => undefined);
  sock.resume();
  sock.end(JSON.stringify(res) + '\n');
  // A timer, not the socket's idle timeout: a client that keeps writing must not keep it open.
  const cut = setTimeout(() => sock.destroy(), CLOSE_GRACE_MS);
  sock.once('close', () => clearTimeout(cut));
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
      closeWith(sock, errorResponse('EBUSY', `too many control clients (${maxClients}); try again`));
      return;
    }
    sockets.add(sock);
    sock.setEncoding('utf8');
    sock.setTimeout(idleTimeoutMs, () => sock.destroy());
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => sock.destroy());

    let buffered = '';
    /** Requests taken off `buffered` and not answered yet. */
    let pending = 0;
    let closing = false;
    let chain = Promise.resolve();
    // Answers leave in order: an error goes after those of the requests before it.
    const refuse = (message: string): void => {
      closing = true;
      sockets.delete(sock); // on its way out: its slot is free for the next client
      buffered = '';
      chain = chain.then(() => closeWith(sock, errorResponse('ECONTROL', message)));
    };
    const pump = (): void => {
      while (!closing && !sock.destroyed && pending < MAX_PENDING) {
        const nl = buffered.indexOf('\n');
        if (nl < 0) break;
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line === '') continue;
        if (Buffer.byteLength(line) > MAX_REQUEST_BYTES) return refuse(`request longer than ${MAX_REQUEST_BYTES} bytes`);
        const req = parseRequest(line);
        if ('error' in req) return refuse(req.error);
        pending++;
        chain = chain.then(async () => {
          let res: ControlResponse;
          try {
            res = { ok: true, data: await opts.handler(req.cmd) };
          } catch (err) {
            const code = err instanceof VipdError ? err.code : 'EINTERNAL';
            res = errorResponse(code, err instanceof Error ? err.message : String(err));
          }
          // A client that does not read its answers gets no more until it does (a status
          // document is ~1000 times the size of the request for it).
          if (!sock.destroyed && !sock.write(JSON.stringify(res) + '\n')) await drained(sock);
          pending--;
          pump();
        });
      }
      if (closing || sock.destroyed) return;
      // An unfinished request already over the limit is refused without waiting for its end.
      if (buffered.indexOf('\n') < 0 && Buffer.byteLength(buffered) > MAX_REQUEST_BYTES) {
        return refuse(`request longer than ${MAX_REQUEST_BYTES} bytes`);
      }
      if (pending >= MAX_PENDING) sock.pause();
      else sock.resume();
    };
    sock.on('data', (chunk: string) => {
      if (closing) return; // what follows a refused request is read and dropped
      buffered += chunk;
      pump();
    });
  });
  // An accept() failure (EMFILE when file descriptors run out) must not take the daemon down.
  server.on('error', () => undefined);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path: opts.path, backlog: 1024 }, () => {
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
