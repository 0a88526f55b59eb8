import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type App, createApp } from '../../../src/app.ts';
import { parseConfig } from '../../../src/config/load.ts';
import type { QueueDriver } from '../../../src/queue/types.ts';
import { createLogger } from '../../../src/telemetry/log.ts';

/**
 * A real relay for the console's browser tests and the screenshots: an async route whose target
 * is a real node:http server that refuses (500) until told to accept, a SQLite queue in a temp
 * dir, and the admin listener on port 0.
 */

export interface Relay {
  app: App;
  driver: QueueDriver;
  /** The relay's listener (webhooks) and the admin one (console). */
  relayUrl: string;
  adminUrl: string;
  target: { accept: boolean; received: string[] };
  send(path: string, body: string, headers?: Record<string, string>): Promise<number>;
  /** Resolves once `n` deliveries match the status (polls the queue). */
  waitFor(status: 'dead' | 'delivered' | 'pending', n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startRelay(options: { token?: string; extraRoutes?: string } = {}): Promise<Relay> {
  const target = { accept: false, received: [] as string[] };
  const downstream: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (!target.accept) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end('maintenance: try later');
        return;
      }
      target.received.push(Buffer.concat(chunks).toString());
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => downstream.listen(0, '127.0.0.1', resolve));
  const port = (downstream.address() as AddressInfo).port;
  const dir = mkdtempSync(join(tmpdir(), 'hookrelay-console-'));
  const token = options.token ? `, token: "${options.token}"` : '';
  const file = join(dir, 'hookrelay.yaml');
  const source = `
server: { host: 127.0.0.1, port: 0 }
queue: { driver: sqlite, path: "${join(dir, 'queue.db')}" }
admin: { host: 127.0.0.1, port: 0${token} }
routes:
  - id: orders
    path: /in/orders
    delivery: async
    forward: { url: "http://127.0.0.1:${port}/orders" }
    queue: { maxAttempts: 1, minDelay: 10ms, circuitBreaker: { failures: 1000, cooldown: 1s } }
  - id: invoices
    path: /in/invoices
    delivery: async
    forward: { url: "http://127.0.0.1:${port}/invoices" }
    queue: { maxAttempts: 1, minDelay: 10ms, circuitBreaker: { failures: 1000, cooldown: 1s } }
${options.extraRoutes ?? ''}`;
  // On disk, so the console's Reload reads it again.
  writeFileSync(file, source);
  const config = parseConfig(source, file, { env: {} });
  const app = createApp(config, { logger: createLogger('silent'), file, source });
  const main = await app.listen(0, '127.0.0.1');
  const admin = app.admin!.address() as AddressInfo;
  const driver = app.queue!.driver;
  const relayUrl = `http://127.0.0.1:${main.port}`;
  return {
    app,
    driver,
    relayUrl,
    adminUrl: `http://127.0.0.1:${admin.port}`,
    target,
    async send(path, body, headers = {}) {
      const res = await fetch(relayUrl + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
      await res.arrayBuffer();
      return res.status;
    },
    async waitFor(status, n, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const count = await driver.count({ status });
        if (count >= n) return;
        if (Date.now() > until)
          throw new Error(`${count} ${status} deliveries after ${timeoutMs} ms, expected ${n}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      await app.stop(500);
      downstream.closeAllConnections();
      await new Promise<void>((resolve) => downstream.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `CHROMIUM_PATH`, else the Debian and Ubuntu names; undefined when none is installed. */
export function findChromium(): string | undefined {
  const candidates = [
    process.env.CHROMIUM_PATH,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
  ];
  return candidates.find((path): path is string => path !== undefined && path !== '' && existsSync(path));
}

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'];
