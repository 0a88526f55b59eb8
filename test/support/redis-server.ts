import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool } from './system-tools.ts';

/**
 * A real `redis-server` (Debian package `redis-server`; `.ci/run` installs it) started by the test
 * itself: 127.0.0.1 on a free port, or a unix socket, its own temp dir, AOF on with `appendfsync
 * always` and `maxmemory-policy noeviction` (the settings the docs ask of production), stopped
 * and removed afterwards. `REDIS_SERVER` is undefined when the program is missing outside CI: the
 * suite skips, saying so; under CI it throws.
 */
export const REDIS_SERVER = requireTool({
  name: 'redis-server',
  env: 'REDIS_SERVER',
  install: 'install it with `apt-get install -y redis-server` (Debian), or run `.ci/run`, which does',
});

export interface RedisOptions {
  /** Listen on a unix socket in the temp dir instead of TCP. */
  unixSocket?: boolean;
  /** Extra `--name value` settings (e.g. { maxmemory: '2mb', appendfsync: 'everysec' }). */
  settings?: Record<string, string>;
}

export interface RedisServer {
  /** redis://127.0.0.1:PORT, or the unix socket path given as `unix:///…`. */
  url: string;
  port: number | undefined;
  socket: string | undefined;
  dir: string;
  process: ChildProcess;
  /** `redis-cli`-like command through a fresh connection (RESP over net, no client library). */
  command(...args: string[]): Promise<string>;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port or socket with the same dir (so the AOF is replayed). */
  restart(): Promise<void>;
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** One RESP command on a short-lived connection; the reply as text (arrays joined by newlines). */
async function resp(where: { port?: number | undefined; socket?: string | undefined }, args: string[]) {
  const { createConnection } = await import('node:net');
  return new Promise<string>((resolve, reject) => {
    const conn =
      where.socket !== undefined
        ? createConnection(where.socket)
        : createConnection(where.port!, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`redis command ${args[0]} timed out`));
    }, 5_000);
    conn.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    conn.setEncoding('utf8');
    conn.on('data', (chunk: string) => {
      data += chunk;
      const parsed = parseReply(data);
      if (parsed !== undefined) {
        clearTimeout(timer);
        conn.end();
        if (parsed.startsWith('-')) reject(new Error(parsed.slice(1)));
        else resolve(parsed);
      }
    });
    conn.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  });
}

/** A complete reply from the buffer, or undefined while more is to come (enough for test commands). */
function parseReply(text: string): string | undefined {
  const read = (at: number): { value: string; end: number } | undefined => {
    const eol = text.indexOf('\r\n', at);
    if (eol < 0) return undefined;
    const type = text[at];
    const head = text.slice(at + 1, eol);
    if (type === '+' || type === ':') return { value: head, end: eol + 2 };
    if (type === '-') return { value: `-${head}`, end: eol + 2 };
    if (type === '$') {
      const length = Number(head);
      if (length < 0) return { value: '', end: eol + 2 };
      const body = Buffer.from(text.slice(eol + 2), 'utf8');
      if (body.length < length + 2) return undefined;
      const value = body.subarray(0, length).toString('utf8');
      return { value, end: eol + 2 + value.length + 2 };
    }
    if (type === '*') {
      const count = Number(head);
      const items: string[] = [];
      let end = eol + 2;
      for (let i = 0; i < count; i++) {
        const item = read(end);
        if (!item) return undefined;
        items.push(item.value);
        end = item.end;
      }
      return { value: items.join('\n'), end };
    }
    return { value: text.slice(at, eol), end: eol + 2 };
  };
  return read(0)?.value;
}

export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  if (REDIS_SERVER === undefined) throw new Error('redis-server is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'hookrelay-redis-'));
  const socket = options.unixSocket ? join(dir, 'redis.sock') : undefined;
  const port = options.unixSocket ? undefined : await freePort();
  const args = [
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'yes',
    '--appendfsync',
    'always',
    '--maxmemory-policy',
    'noeviction',
    '--protected-mode',
    'no',
    '--daemonize',
    'no',
    '--loglevel',
    'warning',
    ...(socket !== undefined
      ? ['--port', '0', '--unixsocket', socket, '--unixsocketperm', '700']
      : ['--bind', '127.0.0.1', '--port', String(port)]),
  ];
  for (const [name, value] of Object.entries(options.settings ?? {})) args.push(`--${name}`, value);
  let child!: ChildProcess;
  let output = '';
  const launch = async () => {
    child = spawn(REDIS_SERVER!, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr!.on('data', (c: Buffer) => {
      output += c.toString();
    });
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        if ((await resp({ port, socket }, ['PING'])) === 'PONG') return;
      } catch {
        // not listening yet
      }
      if (child.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
      if (Date.now() > deadline) throw new Error(`redis-server did not start: ${output}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  await launch();
  const exited = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
  const server: RedisServer = {
    url: socket !== undefined ? `unix://${socket}` : `redis://127.0.0.1:${port}`,
    port,
    socket,
    dir,
    get process() {
      return child;
    },
    command: (...commandArgs) => resp({ port, socket }, commandArgs),
    async kill() {
      child.kill('SIGKILL');
      await exited();
    },
    async restart() {
      await launch();
    },
    pause() {
      child.kill('SIGSTOP');
    },
    resume() {
      child.kill('SIGCONT');
    },
    async stop() {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await exited();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

/** True when `redis-server --version` runs (for a quick probe in tests that print the version). */
export function redisVersion(): string | undefined {
  if (REDIS_SERVER === undefined) return undefined;
  const out = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' });
  return out.status === 0 ? out.stdout.trim() : undefined;
}
