import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import type { ErrorBody } from '../../src/pipeline/reply.ts';
import { type Relay, startRelay } from '../helpers.ts';

/** mTLS, extra and pinned CAs against real https servers on 127.0.0.1 (fixtures: test/fixtures/tls). */

const FIXTURES = resolve(import.meta.dirname, '../fixtures/tls');
const pem = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const path = (name: string) => join(FIXTURES, name);

interface Seen {
  url: string;
  /** CN of the client certificate the connection presented, if any. */
  client: string | undefined;
  socket: TLSSocket;
}

interface HttpsTarget {
  url: string;
  port: number;
  seen: Seen[];
  close(): Promise<void>;
}

async function startHttps(cert: string, options: { clientCa?: string } = {}): Promise<HttpsTarget> {
  const seen: Seen[] = [];
  const server: Server = createServer(
    {
      cert: pem(`${cert}.crt`),
      key: pem(`${cert}.key`),
      ...(options.clientCa
        ? { requestCert: true, rejectUnauthorized: true, ca: pem(`${options.clientCa}.crt`) }
        : {}),
    },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      const peer = socket.getPeerCertificate();
      seen.push({ url: req.url!, client: peer?.subject?.CN as string | undefined, socket });
      req.resume();
      req.on('end', () => res.end('{"ok":true}'));
    },
  );
  server.on('tlsClientError', () => {});
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    seen,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

describe('forward.tls', () => {
  let relay: Relay | undefined;
  const targets: HttpsTarget[] = [];
  const defaults = getCACertificates('default');
  afterEach(async () => {
    await relay?.close();
    relay = undefined;
    for (const t of targets.splice(0)) await t.close();
    setDefaultCACertificates(defaults);
  });

  async function target(cert: string, options: { clientCa?: string } = {}) {
    const t = await startHttps(cert, options);
    targets.push(t);
    return t;
  }

  /** One route per entry: `id: tls` block (YAML, indented under `forward`). */
  async function start(routes: Record<string, { url: string; tls?: string }>) {
    const yaml = Object.entries(routes)
      .map(
        ([id, r]) => `  - id: ${id}
    path: /in/${id}
    retry: { attempts: 2, minDelay: 10ms, maxDelay: 20ms }
    forward:
      url: ${r.url}/hook
${r.tls ? `      tls: ${r.tls}` : ''}`,
      )
      .join('\n');
    relay = await startRelay(`routes:\n${yaml}\n`);
  }

  const post = (id: string) => fetch(`${relay!.url}/in/${id}`, { method: 'POST', body: '{"n":1}' });

  async function refused(id: string): Promise<ErrorBody> {
    const res = await post(id);
    expect(res.status).toBe(502);
    const body = (await res.json()) as ErrorBody;
    expect(body.error).toBe('HOOKRELAY_ERR_UPSTREAM_UNREACHABLE');
    return body;
  }

  const client = (name: string) =>
    `{ cert: "\${file:${path(`${name}.crt`)}}", key: "\${file:${path(`${name}.key`)}}", ca: "\${file:${path('ca-a.crt')}}" }`;

  it('mTLS: the right client certificate is accepted (200); the server sees its CN', async () => {
    const t = await target('server-a', { clientCa: 'ca-a' });
    await start({ m: { url: t.url, tls: client('client-1') } });
    const res = await post('m');
    expect(res.status).toBe(200);
    expect(t.seen.map((s) => s.client)).toEqual(['client-1']);
  });

  it('stream routes use forward.tls too: client certificate presented, private CA trusted, pinned CA enforced', async () => {
    const a = await target('server-a', { clientCa: 'ca-a' });
    const b = await target('server-b');
    const stream = (id: string, url: string, tls: string) => `  - id: ${id}
    path: /files/${id}/*
    methods: [POST]
    delivery: stream
    forward:
      url: ${url}/store
      tls: ${tls}`;
    relay = await startRelay(
      `routes:\n${[
        stream('mtls', a.url, client('client-1')),
        stream('none', a.url, `{ ca: "\${file:${path('ca-a.crt')}}" }`),
        stream('pinned', b.url, `{ ca: "\${file:${path('ca-a.crt')}}", pinCa: true }`),
      ].join('\n')}\n`,
    );
    const send = (id: string) =>
      fetch(`${relay!.url}/files/${id}/scan.pdf`, { method: 'POST', body: Buffer.alloc(256 * 1024, 7) });
    const ok = await send('mtls');
    expect(ok.status).toBe(200);
    expect(a.seen.map((s) => [s.url, s.client])).toEqual([['/store/scan.pdf', 'client-1']]);
    // No client certificate: the server refuses the handshake; signed by another CA than the pinned one.
    expect((await send('none')).status).toBe(502);
    const pinned = await send('pinned');
    expect(pinned.status).toBe(502);
    const refusal = (await pinned.json()) as ErrorBody;
    expect(refusal.error).toBe('HOOKRELAY_ERR_UPSTREAM_UNREACHABLE');
    expect(refusal.message).toMatch(/certificate/i);
    expect(a.seen).toHaveLength(1);
    expect(b.seen).toHaveLength(0);
  });

  it('mTLS: an encrypted key with its passphrase', async () => {
    const t = await target('server-a', { clientCa: 'ca-a' });
    await start({
      m: {
        url: t.url,
        tls: `{ cert: "\${file:${path('client-1.crt')}}", key: "\${file:${path('client-1.enc.key')}}", passphrase: fixture-passphrase, ca: "\${file:${path('ca-a.crt')}}" }`,
      },
    });
    expect((await post('m')).status).toBe(200);
    expect(t.seen[0]!.client).toBe('client-1');
  });

  it('mTLS: without a client certificate, or with one from another CA, the server refuses the connection → 502', async () => {
    const t = await target('server-a', { clientCa: 'ca-a' });
    await start({
      none: { url: t.url, tls: `{ ca: "\${file:${path('ca-a.crt')}}" }` },
      other: { url: t.url, tls: client('client-b') },
    });
    const none = await refused('none');
    expect(none.lastError).toMatch(/certificate|ECONNRESET|socket/i);
    await refused('other');
    expect(t.seen).toHaveLength(0);
  });

  it('two routes to the same origin with different client certificates never share a connection', async () => {
    const t = await target('server-a', { clientCa: 'ca-a' });
    await start({
      one: { url: t.url, tls: client('client-1') },
      two: { url: t.url, tls: client('client-2') },
    });
    const order = ['one', 'two', 'one', 'one', 'two', 'two', 'one', 'two'];
    for (const id of order) expect((await post(id)).status).toBe(200);
    expect(t.seen.map((s) => s.client)).toEqual(order.map((id) => (id === 'one' ? 'client-1' : 'client-2')));
    // Keep-alive still works within each identity: fewer connections than requests.
    expect(new Set(t.seen.map((s) => s.socket)).size).toBe(2);
  });

  it('without `ca`, a target whose certificate is self-signed or from a private CA is refused with a clear reason', async () => {
    const self = await target('self-signed');
    const priv = await target('server-a');
    await start({ self: { url: self.url }, priv: { url: priv.url } });
    expect((await refused('self')).lastError).toMatch(/self-signed certificate.*forward\.tls\.ca/);
    expect((await refused('priv')).lastError).toMatch(
      /unable to verify the first certificate.*forward\.tls\.ca/,
    );
    expect(self.seen).toHaveLength(0);
    expect(priv.seen).toHaveLength(0);
  });

  it('`ca` trusts the private CA; the self-signed certificate itself can be given as `ca`', async () => {
    const priv = await target('server-a');
    const self = await target('self-signed');
    await start({
      priv: { url: priv.url, tls: `{ ca: "\${file:${path('ca-a.crt')}}" }` },
      self: { url: self.url, tls: `{ ca: "\${file:${path('self-signed.crt')}}" }` },
    });
    expect((await post('priv')).status).toBe(200);
    expect((await post('self')).status).toBe(200);
  });

  it('pinCa trusts only the given CA: a server from a CA in the default store is refused, its own CA accepted', async () => {
    // Make CA B a "public" CA: part of Node's default trust store for this process.
    setDefaultCACertificates([...defaults, pem('ca-b.crt')]);
    const b = await target('server-b');
    const a = await target('server-a');
    const ca = `ca: "\${file:${path('ca-a.crt')}}"`;
    await start({
      added: { url: b.url, tls: `{ ${ca} }` },
      pinnedB: { url: b.url, tls: `{ ${ca}, pinCa: true }` },
      pinnedA: { url: a.url, tls: `{ ${ca}, pinCa: true }` },
    });
    expect((await post('added')).status).toBe(200); // `ca` adds to the store: B still trusted
    await refused('pinnedB');
    expect((await post('pinnedA')).status).toBe(200);
    expect(b.seen).toHaveLength(1);
  });

  it('servername: the name checked in the certificate (and sent as SNI) when it differs from the URL host', async () => {
    const t = await target('server-a');
    const ca = `ca: "\${file:${path('ca-a.crt')}}"`;
    await start({
      named: { url: t.url, tls: `{ ${ca}, servername: target.test }` },
      wrong: { url: t.url, tls: `{ ${ca}, servername: other.test }` },
    });
    expect((await post('named')).status).toBe(200);
    expect(t.seen[0]!.socket.servername).toBe('target.test');
    expect((await refused('wrong')).lastError).toMatch(/other\.test/);
  });

  it('config: tls needs an https target, cert and key together, ca for pinCa, and PEM text (never quoted back)', () => {
    const load = (url: string, tls: string) => {
      try {
        parseConfig(
          `routes:\n  - id: r\n    path: /r\n    forward:\n      url: ${url}\n      tls: ${tls}\n`,
          'c.yaml',
          {
            env: {},
          },
        );
        return [];
      } catch (error) {
        return (error as { issues: { path: string; message: string }[] }).issues.map(
          (i) => `${i.path}: ${i.message}`,
        );
      }
    };
    expect(load('http://x.example/h', '{ pinCa: false }')).toEqual([
      'routes[0].forward.tls: only applies to an https:// target URL',
    ]);
    expect(load('https://x.example/h', `{ cert: "${'${file:'}${path('client-1.crt')}}" }`)).toEqual([
      'routes[0].forward.tls.key: a client certificate needs both `cert` and `key`',
    ]);
    expect(load('https://x.example/h', '{ pinCa: true }')).toEqual([
      'routes[0].forward.tls.pinCa: needs `ca`: the CA to trust exclusively',
    ]);
    const notPem = load('https://x.example/h', '{ key: "super-secret-not-a-pem", cert: "nope" }');
    expect(notPem.join('\n')).toMatch(/forward\.tls\.key: must be PEM text/);
    expect(notPem.join('\n')).not.toContain('super-secret-not-a-pem');
  });
});
