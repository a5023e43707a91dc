/**
 * The client of the benchmark, run in the client namespace:
 *   node http-probe.js <ip> [periodMs=10] [timeoutMs=200]
 * While switched on ("on" / "off" lines on stdin) it opens a fresh TCP connection to
 * <ip>:80 every periodMs (connections overlap, so one lost SYN does not hide the next
 * answer), sends GET /, and prints {"t": <wall ms>, "who": "<name>"|null} whenever the
 * answer changes: nginx on each load balancer answers "hello from <name>"; null is a
 * timeout or an error. "t" is when the answer arrived.
 */
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

const [ip, periodArg, timeoutArg] = process.argv.slice(2);
if (!ip) {
  process.stderr.write('usage: http-probe.js <ip> [periodMs] [timeoutMs]\n');
  process.exit(2);
}
const periodMs = Number(periodArg ?? 10);
const timeoutMs = Number(timeoutArg ?? 200);
const wallMs = (): number => performance.timeOrigin + performance.now();

let last: string | null | undefined;
let timer: NodeJS.Timeout | undefined;
let epoch = 0;

function report(who: string | null, ofEpoch: number): void {
  if (ofEpoch !== epoch || who === last) return;
  last = who;
  process.stdout.write(`${JSON.stringify({ t: wallMs(), who })}\n`);
}

function probe(): void {
  const mine = epoch;
  const sock = connect({ host: ip as string, port: 80 });
  let body = '';
  let done = false;
  const finish = (who: string | null): void => {
    if (done) return;
    done = true;
    clearTimeout(limit);
    sock.destroy();
    report(who, mine);
  };
  const limit = setTimeout(() => finish(null), timeoutMs);
  sock.setNoDelay(true);
  sock.setEncoding('utf8');
  sock.on('connect', () => sock.write(`GET / HTTP/1.0\r\nHost: ${ip}\r\n\r\n`));
  sock.on('data', (d: string) => {
    body += d;
  });
  sock.on('end', () => finish(/hello from (\S+)/.exec(body)?.[1] ?? null));
  sock.on('error', () => finish(null));
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'on' && !timer) {
    epoch++;
    last = undefined;
    timer = setInterval(probe, periodMs);
    probe();
  } else if (cmd === 'off' && timer) {
    clearInterval(timer);
    timer = undefined;
    epoch++;
  }
}).on('close', () => process.exit(0));
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
