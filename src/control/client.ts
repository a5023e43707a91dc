/** Control socket client used by vipctl: one request, one response. */
import { createConnection } from 'node:net';
import { VipdError } from '../errors.js';
import type { ControlCommand, ControlResponse } from './protocol.js';

export const DEFAULT_CONTROL_SOCKET = '/run/vipd/vipd.sock';

export async function request(
  path: string,
  cmd: ControlCommand,
  timeoutMs = 5000,
): Promise<unknown> {
  const res = await new Promise<ControlResponse>((resolve, reject) => {
    const sock = createConnection(path);
    let buf = '';
    const fail = (message: string, cause?: unknown): void => {
      sock.destroy();
      reject(new VipdError('ECONTROL', message, { cause }));
    };
    sock.setEncoding('utf8');
    sock.setTimeout(timeoutMs, () => fail(`no answer from ${path} within ${timeoutMs} ms`));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      const hint =
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
          ? ' (is vipd running?)'
          : err.code === 'EACCES'
            ? ' (the control socket is root-only)'
            : '';
      fail(`cannot connect to ${path}: ${err.code ?? err.message}${hint}`, err);
    });
    sock.on('connect', () => sock.write(JSON.stringify({ cmd }) + '\n'));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      sock.end();
      try {
        resolve(JSON.parse(buf.slice(0, nl)) as ControlResponse);
      } catch (err) {
        fail('the daemon sent an unreadable answer', err);
      }
    });
    sock.on('end', () => fail('the daemon closed the connection without answering'));
  });
  if (!res.ok) throw new VipdError('ECONTROL', `${res.error.code}: ${res.error.message}`);
  return res.data;
}
