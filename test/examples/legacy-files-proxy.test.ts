import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, startRelay } from '../helpers.ts';
import { type RawTarget, rawRequest, startRawTarget } from '../stream/support.ts';
import { cli, ROOT } from './support.ts';

/** config/examples/legacy-files-proxy.yaml: a whole document API proxied as a stream route. */
const file = 'config/examples/legacy-files-proxy.yaml';
const source = readFileSync(join(ROOT, file), 'utf8');
const TOKEN = 'docs-api-s3cret';
const KEY = 'scanner-key-1';

describe('legacy-files-proxy', () => {
  let target: RawTarget | undefined;
  let relay: Relay | undefined;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
    relay = undefined;
    target = undefined;
  });

  const seen: {
    method: string;
    url: string;
    headers: Record<string, unknown>;
    sha256: string;
    bytes: number;
  }[] = [];

  async function start() {
    seen.length = 0;
    target = await startRawTarget((req, res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (c: Buffer) => {
        hash.update(c);
        bytes += c.length;
      });
      req.on('end', () => {
        seen.push({
          method: req.method!,
          url: req.url!,
          headers: req.headers,
          sha256: hash.digest('hex'),
          bytes,
        });
        if (req.method === 'GET') {
          res.writeHead(200, { 'content-type': 'application/pdf' });
          res.end(Buffer.alloc(2 * 1024 * 1024, 'p'));
        } else {
          res.writeHead(201, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ stored: req.url, bytes }));
        }
      });
    });
    relay = await startRelay(source, { DOCS_API_URL: target.url, DOCS_API_TOKEN: TOKEN, SCANNER_KEY: KEY });
    return relay;
  }

  it('streams an upload to the API under its base path, with the bearer and without the caller key', async () => {
    const { url, logs } = await start();
    const body = Buffer.alloc(5 * 1024 * 1024, 's');
    const res = await rawRequest(url, '/legacy/docs/inbox/scan%200042.pdf?batch=7', {
      method: 'PUT',
      body,
      headers: { 'x-api-key': KEY, 'content-type': 'application/pdf' },
    });
    expect(res.status).toBe(201);
    expect(seen).toHaveLength(1);
    const got = seen[0]!;
    expect(got.url).toBe('/v2/inbox/scan%200042.pdf?batch=7');
    expect(got.bytes).toBe(body.length);
    expect(got.sha256).toBe(createHash('sha256').update(body).digest('hex'));
    expect(got.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(got.headers['x-api-key']).toBeUndefined();
    expect(got.headers['x-source']).toBe('legacy-scanners');
    expect(JSON.stringify(logs)).not.toContain(TOKEN);
    expect(JSON.stringify(logs)).not.toContain(KEY);
  });

  it('streams a download back', async () => {
    const { url } = await start();
    const res = await fetch(`${url}/legacy/docs/archive/2019/report.pdf`, { headers: { 'x-api-key': KEY } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect((await res.arrayBuffer()).byteLength).toBe(2 * 1024 * 1024);
    expect(seen[0]!.url).toBe('/v2/archive/2019/report.pdf');
  });

  it('refuses a caller without the key (401) and a path that walks up (400); nothing reaches the API', async () => {
    const { url } = await start();
    expect((await rawRequest(url, '/legacy/docs/inbox/x.pdf', { method: 'PUT', body: 'x' })).status).toBe(
      401,
    );
    const up = await rawRequest(url, '/legacy/docs/%2e%2e/admin', { headers: { 'x-api-key': KEY } });
    expect(up.status).toBe(400);
    expect(JSON.parse(up.body).error).toBe('HOOKRELAY_ERR_INVALID_PATH');
    expect(seen).toHaveLength(0);
  });

  it('`# Check:` validates the file', async () => {
    const line = /^# Check:\s+(.*)$/m.exec(source)![1]!;
    const words = line.split(/\s+/);
    const env: Record<string, string> = {};
    while (/^[A-Z_]+=/.test(words[0]!)) {
      const [k, v] = words.shift()!.split('=');
      env[k!] = v!;
    }
    expect(words.slice(0, 2)).toEqual(['npx', 'hookrelay']);
    const result = await cli(words.slice(2), env);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('OK (1 route)');
    expect(result.code).toBe(0);
  });
});
