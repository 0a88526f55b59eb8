import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type App, createApp } from '../src/app.ts';
import { parseConfig } from '../src/config/load.ts';
import { createLogger } from '../src/telemetry/log.ts';

/** A request as the downstream target saw it. */
export interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export type TargetHandler = (req: Received, res: ServerResponse, index: number) => void | Promise<void>;

export interface Target {
  url: string;
  port: number;
  received: Received[];
  server: Server;
  close(): Promise<void>;
}

/** A real node:http downstream on an ephemeral 127.0.0.1 port that records every request. */
export async function startTarget(handler: TargetHandler = defaultHandler): Promise<Target> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = {
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      received.push(r);
      Promise.resolve(handler(r, res, received.length - 1)).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function defaultHandler(_req: Received, res: ServerResponse): void {
  res.setHeader('content-type', 'application/json');
  res.end('{"ok":true}');
}

/** A port that was bound and closed again: connecting to it is refused. */
export async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Relay {
  app: App;
  url: string;
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/**
 * Starts hookrelay in-process on an ephemeral port from a YAML string. Logs are captured as
 * parsed JSON lines so tests can assert on them (and on what they must not contain).
 */
export async function startRelay(yaml: string, env: Record<string, string> = {}): Promise<Relay> {
  // The admin listener's default port (9090) would be shared by tests running at once: any free port.
  // Appended, so the line numbers of config errors stay those of `yaml`.
  const source = /^admin:/m.test(yaml) ? yaml : `${yaml}\nadmin: { port: 0 }\n`;
  const config = parseConfig(source, 'test.yaml', { env: { ...env } });
  const logs: Record<string, unknown>[] = [];
  const sink = {
    write(line: string) {
      logs.push(JSON.parse(line) as Record<string, unknown>);
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  const app = createApp(config, { logger: createLogger('info', sink), defaultMetrics: false });
  const address = await app.listen(0, '127.0.0.1');
  return {
    app,
    url: `http://127.0.0.1:${address.port}`,
    logs,
    close: async () => {
      await app.stop(1_000);
    },
  };
}

/** Fetches /metrics text and returns the value of one sample, or undefined when absent. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (ok) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/**
 * A stand-in value for a `${NAME}` in an example config: any text, except that Standard Webhooks
 * secrets (`…SIGNING_SECRET`, `…WHSEC…`) must be `whsec_<base64>`.
 */
export function exampleSecret(name: string): string {
  if (/SIGNING_SECRET$|WHSEC|^SVIX_|^WEBHOOK_SECRET$/.test(name))
    return `whsec_${Buffer.from(name).toString('base64')}`;
  // Adyen's HMAC keys are hex.
  if (/^ADYEN_HMAC_KEY$/.test(name))
    return '44782def547aaa06c910c43932b1eb0c71fc68d9d0c057550c48ec2acf6ba056';
  // Public keys the asymmetric presets read: an Ed25519 key in hex (Discord), a P-256 key in base64 DER.
  if (/^DISCORD_PUBLIC_KEY$|ED25519/.test(name)) return EXAMPLE_ED25519_KEY;
  if (/^SENDGRID_.*KEY$|P256/.test(name)) return EXAMPLE_P256_KEY;
  return 'test-value';
}

export const EXAMPLE_ED25519_KEY = 'de424cc969d2faf4811912078ee3216d7c04e54936d479d33ce1a0789d1ee823';
export const EXAMPLE_P256_KEY =
  'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAENXhkYdB6Re7Gjy5Wsy8EPxzYslqWSLIXDQ+x9OjtLPnxjTTyRQn/nyexFWDmLbvxIeqwgh7ALcx020TsmvKTVg==';
