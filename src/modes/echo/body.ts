/**
 * The `echo: true` route answer: what hookrelay received, for demos and for testing a sender.
 * Credential-bearing headers are masked (scheme and length only), so an echo route placed behind
 * another route shows that a credential was injected without printing it; any value the
 * configuration keeps secret is redacted wherever it appears (headers, query, body).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { InboundMessage } from '../../core/message.ts';
import { isSecretHeaderName } from '../../core/secret-names.ts';
import { SecretValues } from '../../core/secret-values.ts';

const TEXTUAL = /^(text\/|application\/([\w.+-]*\+)?(json|xml|x-www-form-urlencoded|javascript)\b)/i;

function mask(name: string, value: string): string {
  if (!isSecretHeaderName(name)) return value;
  const space = value.indexOf(' ');
  const scheme = space > 0 && space < 16 ? `${value.slice(0, space)} ` : '';
  return `${scheme}<redacted, ${value.length - scheme.length} chars>`;
}

function maskHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    out[name] = mask(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return out;
}

export function echoBody(message: InboundMessage, secrets: SecretValues = SecretValues.none): string {
  const contentType = message.headers['content-type'];
  const textual = contentType === undefined || TEXTUAL.test(contentType);
  const text = JSON.stringify({
    echo: true,
    route: message.routeId,
    requestId: message.requestId,
    method: message.method,
    path: message.path,
    params: message.params,
    query: Object.fromEntries(message.query),
    headers: maskHeaders(message.headers),
    bodyBytes: message.body.length,
    bodyEncoding: textual ? 'utf8' : 'base64',
    body: message.body.toString(textual ? 'utf8' : 'base64'),
  });
  return secrets.size === 0 ? text : secrets.redact(text);
}
