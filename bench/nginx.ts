/**
 * nginx as a reference proxy: one worker, no daemon, its own generated config in the run's work
 * directory, access log off, keep-alive upstream, the Authorization header injected.
 *
 * - `/` → the target's `/hook`: the small-body scenarios (nginx buffers those bodies, as usual).
 * - `/large/*` → the target's `/*` with request and response buffering off and no body size
 *   limit: nginx streaming, the reference for hookrelay's `delivery: stream` routes.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, hasCommand, startPinned, waitForPort } from './lib.ts';

export function nginxConfig(dir: string, port: number, targetPort: number, authorization: string): string {
  const common = `proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "${authorization}";`;
  return `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream target { server 127.0.0.1:${targetPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://target/hook;
      ${common}
    }
    location /large/ {
      proxy_pass http://target/;
      ${common}
      proxy_request_buffering off;
      proxy_buffering off;
      client_max_body_size 0;
    }
  }
}
`;
}

/** Starts nginx pinned to core 1 (added to `children`), or undefined when nginx is not installed. */
export async function startNginx(
  work: string,
  targetPort: number,
  authorization: string,
  children: ChildProcess[],
): Promise<{ child: ChildProcess; port: number } | undefined> {
  if (!hasCommand('nginx')) return undefined;
  const port = await freePort();
  const dir = join(work, 'nginx');
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConfig(dir, port, targetPort, authorization));
  const child = startPinned(1, 'nginx', ['-p', dir, '-c', conf, '-g', 'daemon off;']);
  children.push(child);
  await waitForPort(port);
  return { child, port };
}
