/**
 * Libraries only some configurations need load only when one does (issue 17: idle RSS and start
 * time): BullMQ and ioredis with `queue.driver: redis`, http-proxy-3 with a stream route,
 * fast-xml-parser with an XML step, jsonata with a jsonata map or a condition. A real
 * child process relays one request under a preload that records every module it resolves.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { REDIS_SERVER, type RedisServer, startRedis } from '../support/redis-server.ts';

const fixture = (name: string) => fileURLToPath(new URL(`../telemetry/fixtures/${name}`, import.meta.url));
const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'hookrelay-lazy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The packages (under node_modules) the relay resolved while relaying one request. */
function packagesLoaded(config: string, body?: string): Promise<{ status: string; packages: Set<string> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, ['--import', fixture('record-loads.mjs'), fixture('relay-once.ts')], {
      env: {
        ...process.env,
        HOOKRELAY_TEST_CONFIG: config,
        ...(body === undefined
          ? {}
          : {
              HOOKRELAY_TEST_BODY: body,
              HOOKRELAY_TEST_TYPE: body.startsWith('<') ? 'application/xml' : 'application/json',
            }),
      },
      timeout: 20_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', () => {
      const line = stdout.split('\n').find((l) => l.startsWith('LOADED '));
      if (!line) return reject(new Error(`the relay printed no module list: ${stderr}`));
      const packages = new Set<string>();
      for (const url of JSON.parse(line.slice('LOADED '.length)) as string[]) {
        const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
        if (m) packages.add(m[1]!);
      }
      resolve({ status: /STATUS (\d+)/.exec(stdout)?.[1] ?? `none (${stderr})`, packages });
    });
  });
}

const HEAVY = ['bullmq', 'ioredis', 'http-proxy-3', 'fast-xml-parser', 'jsonata'];

describe('modules loaded only when a configuration needs them', () => {
  it('a sync route loads neither the redis driver, the stream proxy, the XML parser nor jsonata', async () => {
    const { status, packages } = await packagesLoaded(
      'routes:\n  - id: r\n    path: /hook\n    forward: { url: "TARGET/in" }\n',
    );
    expect(status).toBe('200');
    expect(packages.has('undici')).toBe(true);
    expect(HEAVY.filter((name) => packages.has(name))).toEqual([]);
  });

  it('an async route on sqlite loads no BullMQ or ioredis', async () => {
    const { status, packages } = await packagesLoaded(
      `queue: { driver: sqlite, path: ${join(dir, 'q.db')} }\nadmin: { enabled: false }\nroutes:\n  - id: r\n    path: /hook\n    delivery: async\n    forward: { url: "TARGET/in" }\n`,
    );
    expect(status).toBe('202');
    expect(HEAVY.filter((name) => packages.has(name))).toEqual([]);
  });

  it('a stream route loads http-proxy-3 and relays through it', async () => {
    const { status, packages } = await packagesLoaded(
      'routes:\n  - id: r\n    path: /hook\n    delivery: stream\n    forward: { url: "TARGET/in" }\n',
    );
    expect(status).toBe('200');
    expect(packages.has('http-proxy-3')).toBe(true);
    expect(packages.has('bullmq')).toBe(false);
  });

  it('an xml step loads fast-xml-parser, a jsonata map loads jsonata, and both work', async () => {
    const xml = await packagesLoaded(
      'routes:\n  - id: r\n    path: /hook\n    forward: { url: "TARGET/in" }\n    transform:\n      - type: xml\n',
      '<order><id>1</id></order>',
    );
    expect(xml.status).toBe('200');
    expect(xml.packages.has('fast-xml-parser')).toBe(true);
    expect(xml.packages.has('jsonata')).toBe(false);
    const map = await packagesLoaded(
      'routes:\n  - id: r\n    path: /hook\n    forward: { url: "TARGET/in" }\n    transform:\n      - type: map\n        jsonata: "{ \'n\': a + 1 }"\n',
      '{"a":1}',
    );
    expect(map.status).toBe('200');
    expect(map.packages.has('jsonata')).toBe(true);
    expect(map.packages.has('fast-xml-parser')).toBe(false);
  });

  describe.skipIf(REDIS_SERVER === undefined)('with redis-server', () => {
    let redis: RedisServer | undefined;
    afterAll(() => redis?.kill());
    it('an async route on redis loads BullMQ and ioredis, and the webhook is accepted', async () => {
      redis = await startRedis();
      const { status, packages } = await packagesLoaded(
        `queue: { driver: redis, redis: { url: "${redis.url}", durability: warn } }\nadmin: { enabled: false }\nroutes:\n  - id: r\n    path: /hook\n    delivery: async\n    forward: { url: "TARGET/in" }\n`,
      );
      expect(status).toBe('202');
      expect(packages.has('bullmq')).toBe(true);
      expect(packages.has('ioredis')).toBe(true);
    });
  });
});
