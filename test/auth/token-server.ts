import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A token request as the authorization server saw it, client authentication decoded. */
export interface SeenTokenRequest {
  method: string;
  path: string;
  contentType: string | undefined;
  form: URLSearchParams;
  /** From Basic (RFC 6749 §2.3.1: form-decoded after base64) or from the body. */
  client: { via: 'basic' | 'body' | 'none'; id: string | undefined; secret: string | undefined };
}

export type TokenHandler = (seen: SeenTokenRequest, res: ServerResponse, index: number) => void;

export interface TokenServer {
  url: string;
  requests: SeenTokenRequest[];
  /** Tokens issued so far, in order: `tok-1`, `tok-2`, ... */
  issued: string[];
  /** Replaces the answer (default: a fresh Bearer token, expires_in 3600). */
  handle(handler: TokenHandler | undefined): void;
  close(): Promise<void>;
}

const formDecode = (value: string) => decodeURIComponent(value.replace(/\+/g, ' '));

/** A real OAuth2 token endpoint on 127.0.0.1 (client credentials grant) that counts its requests. */
export async function startTokenServer(
  options: { clientId?: string; clientSecret?: string; expiresIn?: number | undefined } = {},
): Promise<TokenServer> {
  const clientId = options.clientId ?? 'relay-client';
  const clientSecret = options.clientSecret ?? 'client-secret-value';
  const requests: SeenTokenRequest[] = [];
  const issued: string[] = [];
  let custom: TokenHandler | undefined;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      let client: SeenTokenRequest['client'] = { via: 'none', id: undefined, secret: undefined };
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
      if (basic) {
        const pair = Buffer.from(basic[1]!, 'base64').toString('utf8');
        const colon = pair.indexOf(':');
        client = {
          via: 'basic',
          id: formDecode(pair.slice(0, colon)),
          secret: formDecode(pair.slice(colon + 1)),
        };
      } else if (form.has('client_id')) {
        client = {
          via: 'body',
          id: form.get('client_id') ?? undefined,
          secret: form.get('client_secret') ?? undefined,
        };
      }
      const seen: SeenTokenRequest = {
        method: req.method!,
        path: req.url!,
        contentType: req.headers['content-type'],
        form,
        client,
      };
      requests.push(seen);
      if (custom) {
        custom(seen, res, requests.length - 1);
        return;
      }
      res.setHeader('content-type', 'application/json');
      if (client.id !== clientId || client.secret !== clientSecret) {
        res.statusCode = 401;
        res.end('{"error":"invalid_client","error_description":"bad client credentials"}');
        return;
      }
      if (form.get('grant_type') !== 'client_credentials') {
        res.statusCode = 400;
        res.end('{"error":"unsupported_grant_type"}');
        return;
      }
      const token = `tok-${issued.length + 1}`;
      issued.push(token);
      const answer: Record<string, unknown> = { access_token: token, token_type: 'Bearer' };
      const expiresIn = 'expiresIn' in options ? options.expiresIn : 3600;
      if (expiresIn !== undefined) answer.expires_in = expiresIn;
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/oauth/token`,
    requests,
    issued,
    handle(handler) {
      custom = handler;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
