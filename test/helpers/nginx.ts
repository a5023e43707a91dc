/**
 * nginx in a host's namespace answering "hello from <host>" on port 80: the web server
 * behind the VIP in the demo, the nginx tests and the benchmark. Everything it writes
 * (config, pid, logs, temp dirs) lives under `<dir>/nginx-<host>/`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Lan, NsProcess } from './netns.js';

export function nginxConf(dir: string, host: string): string {
  return `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  server {
    listen 80;
    location / { default_type text/plain; return 200 "hello from ${host}\\n"; }
  }
}
`;
}

/** Starts nginx on `host` (again, after a stop) and resolves once it answers. */
export async function startNginx(lan: Lan, host: string, dir: string): Promise<NsProcess> {
  const d = join(dir, `nginx-${host}`);
  await mkdir(join(d, 'tmp'), { recursive: true });
  const conf = join(d, 'nginx.conf');
  await writeFile(conf, nginxConf(d, host));
  const proc = lan.spawn(host, ['nginx', '-p', d, '-e', join(d, 'error.log'), '-c', conf, '-g', 'daemon off;']);
  const ip = lan.host(host).ipv4;
  const deadline = performance.now() + 15_000;
  for (;;) {
    const body = await lan.exec(host, ['curl', '-s', '-m', '1', `http://${ip}/`]).catch(() => '');
    if (body.includes(`hello from ${host}`)) return proc;
    if (!proc.running || performance.now() > deadline) throw new Error(`nginx on ${host} does not answer\n${proc.tail()}`);
    await sleep(100);
  }
}
