/**
 * `npm run demo` (as root): the main job of vipd, end to end, on one machine.
 *
 * Builds a small LAN in network namespaces (lb01, lb02, client), runs nginx on both
 * load balancers and vipd with conf/nginx-master.conf and conf/nginx-backup.conf
 * (only the VIP and the health-script path adapted to the LAN), shows `vipctl status`,
 * then lets a client curl the VIP while it
 *   1. kills vipd on the master (SIGKILL)   → the backup takes the VIP over,
 *   2. starts it again                      → it preempts back,
 *   3. stops nginx on the master            → chk_nginx fails, the VIP moves,
 *   4. starts nginx again                   → the VIP comes back,
 * and prints what the client saw. Everything is removed at the end, even on Ctrl-C.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from '../../src/control/client.js';
import { formatStatus } from '../../src/control/format.js';
import type { StatusDocument } from '../../src/control/status.js';
import { Lan, netnsUnavailableReason, type NsProcess } from '../helpers/netns.js';
import { startNginx } from '../helpers/nginx.js';

const root = resolve(import.meta.dirname, '../../..');
const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const t0 = performance.now();
const stamp = (): string => `[${((performance.now() - t0) / 1000).toFixed(1).padStart(5)}s]`;
const say = (s: string): void => console.log(`${stamp()} ${s}`);

interface Box {
  readonly name: string;
  readonly dir: string;
  readonly sock: string;
  vipd: NsProcess | null;
  nginx: NsProcess | null;
}

async function main(): Promise<number> {
  const why = netnsUnavailableReason();
  if (why !== undefined) {
    console.error(`npm run demo: ${why}. Run it as root (it builds network namespaces).`);
    return 2;
  }
  const work = await mkdtemp(join(tmpdir(), 'vipd-demo-'));
  await chmod(work, 0o700);
  const lan = await Lan.create({ hosts: ['lb01', 'lb02', 'client'], subnet: '10.99.1' });
  const vip = lan.addr(100);
  let client: NsProcess | null = null;
  const cleanup = async (): Promise<void> => {
    await client?.kill('SIGKILL');
    await lan.destroy();
    await rm(work, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

  try {
    say(bold(`LAN 10.99.1.0/24 in network namespaces: lb01 ${lan.host('lb01').ipv4}, lb02 ${lan.host('lb02').ipv4}, client ${lan.host('client').ipv4}; VIP ${vip}`));
    const boxes: Box[] = [];
    for (const [name, conf] of [
      ['lb01', 'nginx-master.conf'],
      ['lb02', 'nginx-backup.conf'],
    ] as const) {
      const dir = join(work, name);
      const box: Box = { name, dir, sock: join(dir, 'vipd.sock'), vipd: null, nginx: null };
      await mkdir(join(dir, 'tmp'), { recursive: true });
      const check = join(dir, 'chk_nginx.sh');
      await writeFile(check, (await readFile(join(root, 'conf/chk_nginx.sh'), 'utf8')), { mode: 0o755 });
      const text = (await readFile(join(root, 'conf', conf), 'utf8'))
        .replaceAll('192.168.1.100/24', `${vip}/24`)
        .replaceAll('/etc/keepalived/chk_nginx.sh', check);
      await writeFile(join(dir, 'keepalived.conf'), text);
      boxes.push(box);
    }
    const [lb01] = boxes as [Box, Box];

    for (const b of boxes) b.nginx = await startNginx(lan, b.name, work);
    say(`nginx answers on both: lb01 says "${(await curl(lan, lan.host('lb01').ipv4)).trim()}", lb02 says "${(await curl(lan, lan.host('lb02').ipv4)).trim()}"`);

    for (const b of boxes) startVipd(lan, b);
    say(`vipd started on both with conf/nginx-master.conf (priority 150) and conf/nginx-backup.conf (priority 140)`);
    await waitFor(async () => (await lan.hasAddress('lb01', vip)), 15_000, 'lb01 to become MASTER');
    say(bold('lb01 is MASTER and holds the VIP:'));
    for (const b of boxes) console.log(indent(formatStatus((await request(b.sock, 'status')) as StatusDocument)));

    client = lan.spawn('client', ['sh', '-c', `while :; do r=$(curl -s -m 0.4 http://${vip}/ || echo "(no answer)"); echo "$(date +%s.%N) $r"; sleep 0.1; done`]);
    const seen: Array<{ at: number; text: string }> = [];
    const watchClient = (): void => {
      for (const line of client?.stdout.splice(0) ?? []) {
        const [ts, ...rest] = line.split(' ');
        seen.push({ at: Number(ts), text: rest.join(' ') });
      }
    };
    const timer = setInterval(watchClient, 50);
    const phase = async (title: string, act: () => Promise<void>, until: () => Promise<boolean>, what: string): Promise<void> => {
      await sleep(1500);
      watchClient();
      const from = seen.length;
      say(bold(title));
      await act();
      await waitFor(until, 20_000, what);
      await sleep(1500);
      watchClient();
      console.log(indent(summarise(seen.slice(from))));
    };

    await phase(
      '1. kill -9 vipd on lb01: nothing removes its VIP, so lb01 keeps answering until lb02 takes over (Master_Down_Interval, 3 s + skew) and its gratuitous ARPs move the client',
      async () => void (await lb01.vipd?.kill('SIGKILL')),
      () => lan.hasAddress('lb02', vip),
      'lb02 to take the VIP',
    );
    await phase(
      '2. start vipd on lb01 again: priority 150 > 140, it preempts back',
      async () => startVipd(lan, lb01),
      async () => (await lan.hasAddress('lb01', vip)) && !(await lan.hasAddress('lb02', vip)),
      'lb01 to preempt back',
    );
    await phase(
      '3. stop nginx on lb01: chk_nginx fails twice (fall 2), 150 - 20 = 130 < 140, lb02 takes over',
      async () => void (await lb01.nginx?.kill('SIGTERM')),
      () => lan.hasAddress('lb02', vip),
      'lb02 to take the VIP after the health check failed',
    );
    await phase(
      '4. start nginx on lb01 again: chk_nginx passes (rise 1), priority back to 150, lb01 preempts',
      async () => {
        lb01.nginx = await startNginx(lan, lb01.name, work);
      },
      async () => (await lan.hasAddress('lb01', vip)) && !(await lan.hasAddress('lb02', vip)),
      'lb01 to preempt back',
    );
    clearInterval(timer);
    say(bold('final state:'));
    for (const b of boxes) console.log(indent(formatStatus((await request(b.sock, 'status')) as StatusDocument)));
    say('stopping vipd (SIGTERM: priority 0 advert, VIPs removed) and removing the namespaces');
    for (const b of boxes) await b.vipd?.kill('SIGTERM');
    return 0;
  } catch (err) {
    console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await cleanup();
  }
}

function startVipd(lan: Lan, b: Box): void {
  b.vipd = lan.spawn(b.name, [process.execPath, join(root, 'bin/vipd'), '-l', '-f', join(b.dir, 'keepalived.conf'), '--control-socket', b.sock, '-p', join(b.dir, 'vipd.pid')]);
}

function curl(lan: Lan, ip: string): Promise<string> {
  return lan.exec('client', ['curl', '-s', '-m', '1', `http://${ip}/`]);
}

async function waitFor(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    if (await cond().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** "hello from lb01 ×12 → (no answer) ×30 [3.4 s] → hello from lb02 ×14" */
function summarise(samples: ReadonlyArray<{ at: number; text: string }>): string {
  const runs: Array<{ text: string; n: number; from: number; to: number }> = [];
  for (const s of samples) {
    const last = runs.at(-1);
    if (last && last.text === s.text) {
      last.n++;
      last.to = s.at;
    } else runs.push({ text: s.text, n: 1, from: s.at, to: s.at });
  }
  const parts = runs.map((r) => `"${r.text}" ×${r.n}${r.text.startsWith('(no answer)') ? ` [${(r.to - r.from + 0.5).toFixed(1)} s]` : ''}`);
  return `client saw: ${parts.join(' → ') || '(nothing)'}`;
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `      ${l}`)
    .join('\n');
}

process.exitCode = await main();
