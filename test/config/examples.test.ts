import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { compileRoutes } from '../../src/config/compile.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/telemetry/log.ts';
import { exampleSecret } from '../helpers.ts';

/** Every shipped config file loads, and the out-of-the-box example actually relays. */

const ROOT = resolve(import.meta.dirname, '../..');

function yamlFiles(folder: string): string[] {
  const abs = join(ROOT, folder);
  if (!existsSync(abs)) return [];
  return readdirSync(abs)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => `${folder}/${name}`);
}

const files = [...yamlFiles('config'), ...yamlFiles('config/examples')];

/**
 * Plausible values for the variables a file requires (`${NAME}` without a default), so examples
 * that take secrets from the environment still load. Variables with a default keep it.
 */
function requiredEnv(source: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [, name] of source.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) {
    const key = name!;
    if (/URL$/.test(key)) env[key] = 'https://example.com/hook';
    else if (/PORT$/.test(key)) env[key] = '8080';
    else if (/HOST$/.test(key)) env[key] = 'example.com';
    else if (/SIGNING_SECRET$|WHSEC|PUBLIC_KEY$/.test(key)) env[key] = exampleSecret(key);
    else env[key] = `example-${key.toLowerCase()}`;
  }
  return env;
}

const readSecret = (path: string) => `example-secret-from-${path}`;

describe('shipped config files', () => {
  it('the folder holds the out-of-the-box example', () => {
    expect(files).toContain('config/hookrelay.yaml');
  });

  it.each(files)('%s loads and compiles', (file) => {
    const source = readFileSync(join(ROOT, file), 'utf8');
    const config = parseConfig(source, file, { env: requiredEnv(source), readFile: readSecret });
    expect(config.routes.length).toBeGreaterThan(0);
    const routes = compileRoutes(config);
    expect(routes.map((r) => r.id)).toEqual(config.routes.map((r) => r.id));
  });
});

describe('config/hookrelay.yaml relays out of the box', () => {
  let app: App | undefined;
  afterEach(async () => {
    await app?.stop(1_000);
    app = undefined;
  });

  async function start(env: Record<string, string> = {}) {
    // The example forwards to its own port (${PORT:-8080}); pick a free one and pass it as PORT.
    const port = await freePort();
    const file = 'config/hookrelay.yaml';
    const config = parseConfig(readFileSync(join(ROOT, file), 'utf8'), file, {
      env: { PORT: String(port), ...env },
    });
    expect(config.server.port).toBe(port);
    app = createApp(config, { logger: createLogger('silent'), defaultMetrics: false });
    await app.listen(port, '127.0.0.1');
    return `http://127.0.0.1:${port}`;
  }

  const order = (url: string) =>
    fetch(`${url}/in/acme/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Basic caller-credential' },
      body: '{"id": 42}',
    });

  it('POST /in/acme/orders reaches the demo target with the bearer token injected', async () => {
    const url = await start();
    const res = await order(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const echo = (await res.json()) as {
      route: string;
      method: string;
      path: string;
      params: Record<string, string>;
      headers: Record<string, string>;
      body: string;
    };
    expect(echo).toMatchObject({
      route: 'demo-target',
      method: 'POST',
      path: '/demo/target/acme',
      params: { tenant: 'acme' },
      body: '{"id": 42}',
    });
    // The default token is `demo-token-not-secret` (21 characters); the caller's own credential is dropped.
    expect(echo.headers.authorization).toBe('Bearer <redacted, 21 chars>');
    expect(echo.headers['x-relayed-by']).toBe('hookrelay');
    expect(echo.headers['content-type']).toBe('application/json');
    expect(echo.headers['x-request-id']).toBe(res.headers.get('x-request-id'));
    expect(echo.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('takes the token from DEMO_TARGET_TOKEN when set', async () => {
    const token = 'a-much-longer-token-from-the-environment';
    const url = await start({ DEMO_TARGET_TOKEN: token });
    const echo = (await (await order(url)).json()) as { headers: Record<string, string> };
    expect(echo.headers.authorization).toBe(`Bearer <redacted, ${token.length} chars>`);
  });

  it('the curl line in its header comment works as written', async () => {
    const source = readFileSync(join(ROOT, 'config/hookrelay.yaml'), 'utf8');
    const curl = /curl .*?-X (\w+) http:\/\/127\.0\.0\.1:8080(\/\S+)/.exec(source);
    expect(curl, 'config/hookrelay.yaml documents a curl line').not.toBeNull();
    const url = await start();
    const res = await fetch(`${url}${curl![2]}`, { method: curl![1], body: '{"id": 42}' });
    expect(res.status).toBe(200);
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}
