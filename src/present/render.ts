/** Output of `hookrelay try`: the forwarded request as an HTTP-like text block, or as JSON. */
import { parseJsonText } from '../core/json.ts';
import { isJson } from '../transforms/payload.ts';
import type { Shown } from './redact.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface Body {
  text: string;
  encoding: 'utf8' | 'base64';
}

/** UTF-8 text when the bytes are valid UTF-8, else base64. */
export function bodyText(bytes: Buffer): Body {
  try {
    return { text: utf8.decode(bytes), encoding: 'utf8' };
  } catch {
    return { text: bytes.toString('base64'), encoding: 'base64' };
  }
}

/** For reading: JSON indented by two spaces; XML, form and other text as is. */
export function prettyBody(bytes: Buffer, contentType: string | undefined): string {
  const { text, encoding } = bodyText(bytes);
  if (encoding === 'base64') return `(${bytes.length} bytes of binary data, base64)\n${text}`;
  if (isJson(contentType)) {
    try {
      // Numbers as the caller wrote them; no depth limit: only JSON.stringify walks the value.
      return JSON.stringify(parseJsonText(text, Number.POSITIVE_INFINITY), null, 2);
    } catch {
      // Not valid JSON after all: show it as it is.
    }
  }
  return text;
}

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function renderText(request: Shown, body: Buffer | undefined, answer?: Answer): string {
  const lines = [`${request.method} ${request.url}`];
  for (const [name, value] of Object.entries(request.headers)) lines.push(`${name}: ${value}`);
  let out = `${lines.join('\n')}\n`;
  if (body && body.length > 0)
    out += `\n${trailingNewline(prettyBody(body, request.headers['content-type']))}`;
  else out += '\n(no body)\n';
  if (answer) {
    out += '\n# answer to the caller once the target accepts (respond):\n';
    out += `${answer.status}\n`;
    for (const name of Object.keys(answer.headers).sort()) out += `${name}: ${answer.headers[name]}\n`;
    if (answer.body) out += `\n${trailingNewline(answer.body)}`;
  }
  return out;
}

export function renderJson(request: Shown, body: Buffer | undefined): string {
  const text = body === undefined ? null : bodyText(body);
  return `${JSON.stringify({
    method: request.method,
    url: request.url,
    headers: request.headers,
    body: text?.text ?? null,
    bodyEncoding: text?.encoding ?? null,
  })}\n`;
}

function trailingNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}
