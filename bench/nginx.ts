/**
 * nginx as a reference proxy: one worker, no daemon, its own generated config in a fresh directory
 * under the run's work directory per start, access log off, keep-alive upstream, the Authorization
 * header injected.
 *
 * - `/` → the target's `/hook`: the small-body scenarios (nginx buffers those bodies, as usual).
 * - `/large/*` → the target's `/*` with request and response buffering off and no body size
 *   limit: nginx streaming, the reference for hookrelay's `delivery: stream` routes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, hasCommand, processTree, type ServiceSpec } from './lib.ts';

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

let starts = 0;

/**
 * A fresh nginx (master + one worker, pinned to core 1 by startService) with its own directory,
 * or undefined when nginx is not installed. Its pids are the master's process tree.
 */
export async function nginxSpec(
  work: string,
  targetPort: number,
  authorization: string,
): Promise<ServiceSpec | undefined> {
  if (!hasCommand('nginx')) return undefined;
  const port = await freePort();
  const dir = join(work, `nginx-${++starts}`);
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConfig(dir, port, targetPort, authorization));
  return {
    name: 'nginx',
    command: 'nginx',
    args: ['-p', dir, '-c', conf, '-g', 'daemon off;'],
    ready: { port },
    pids: (child) => processTree(child.pid!),
  };
}
