/** Deliveries as text for `hookrelay deliveries`: the list table, the detail of one, aligned columns. */
import { parseJsonText } from '../core/json.ts';
import type { DeliveryRecord } from '../queue/types.ts';
import { isJson, isXml } from '../transforms/payload.ts';
import type { AttemptView, DeliveryDetail } from './view.ts';

export function table(records: DeliveryRecord[], now: number): string {
  return grid([
    ['ID', 'ROUTE', 'STATUS', 'ATTEMPTS', 'LAST', 'AGE'],
    ...records.map((r) => [r.id, r.routeId, r.status, String(r.attempts), last(r), age(now - r.createdAt)]),
  ]);
}

/** Rows of cells as aligned columns, two spaces apart, one line each (the first row is the header). */
export function grid(rows: string[][]): string {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
  return rows
    .map(
      (row) =>
        `${row
          .map((cell, col) => cell.padEnd(widths[col]!))
          .join('  ')
          .trimEnd()}\n`,
    )
    .join('');
}

/** Last status and error of a delivery, one line; shortened to `max` characters. */
function last(
  r: { lastStatus: number | undefined | null; lastError: string | undefined | null },
  max = 50,
): string {
  const text = [r.lastStatus, r.lastError]
    .filter((v) => v !== undefined && v !== null)
    .join(' ')
    .replace(/\s+/g, ' ');
  if (!text) return '-';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** `42s`, `5m`, `3h`, `2d`: how long ago, to the largest whole unit. */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

export function describe(
  view: DeliveryDetail,
  attempts: AttemptView[],
  record: DeliveryRecord,
  now: number,
): string {
  const lines: [string, string | null][] = [
    ['delivery', view.id],
    ['route', view.route],
    [
      'status',
      view.replays === 0
        ? `${view.status}, ${plural(view.attempts, 'attempt')}`
        : `${view.status}, ${plural(view.attempts, 'attempt')} since replayed (${plural(view.replays, 'replay')})`,
    ],
    ['request id', view.requestId],
    ['created', `${view.createdAt} (${age(now - record.createdAt)} ago)`],
    ['updated', view.updatedAt],
    ['next attempt', view.nextAttemptAt],
    ['lease until', view.leaseUntil],
    ['delivered', view.deliveredAt],
    ['last', view.lastStatus === null && view.lastError === null ? null : last(view, Infinity)],
    ['last code', view.lastCode],
    ['dedup key', view.dedupKey],
    ['trace', view.trace === null ? null : `${view.trace.traceId} (accepting span ${view.trace.spanId})`],
  ];
  let out = lines
    .filter(([, value]) => value !== null)
    .map(([label, value]) => `${`${label}:`.padEnd(14)}${value}\n`)
    .join('');
  if (view.lastResponse) out += `last response:\n${indent(view.lastResponse)}\n`;
  const { request } = view;
  out += `\n${request.method} ${request.url}\n`;
  for (const [name, value] of Object.entries(request.headers)) out += `${name}: ${value}\n`;
  for (const name of request.configHeaders)
    out += `${name}: (from the route's configuration, at each attempt)\n`;
  out += `\n${body(view, record)}\n`;
  out += '\nattempts:\n';
  if (attempts.length === 0) out += '  (none yet)\n';
  for (const [i, a] of attempts.entries()) {
    // The history keeps the first attempt and the latest ones: the dropped ones sit after the first.
    if (i === 1 && view.attemptsDropped > 0) {
      out += `  ${'…'.padStart(3)}  ${plural(view.attemptsDropped, 'attempt')} not kept\n`;
    }
    const n = i === 0 ? 1 : i + 1 + view.attemptsDropped;
    const result =
      [a.status ?? '', a.error ?? '', a.code === null ? '' : `(${a.code})`].join(' ').trim() || '-';
    const trace = a.traceId === null ? '' : `  trace ${a.traceId}`;
    out += `  ${String(n).padStart(3)}  ${a.at}  ${`${a.durationMs}ms`.padStart(8)}  ${result}${trace}\n`;
  }
  return out;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function indent(text: string): string {
  return text.replace(/\n$/, '').replace(/^/gm, '  ');
}

/** The stored body for reading: JSON and XML indented, other text as is, binary as base64. */
function body(view: DeliveryDetail, record: DeliveryRecord): string {
  const { body: text, bodyEncoding } = view.request;
  if (text === null || text === '') return '(no body)';
  if (bodyEncoding === 'base64') return `(${record.bodyBytes} bytes of binary data, base64)\n${text}`;
  const type = Object.entries(record.request.headers).find(
    ([name]) => name.toLowerCase() === 'content-type',
  )?.[1];
  if (isJson(type) || (!type && /^\s*[[{]/.test(text))) {
    try {
      // Numbers as the caller wrote them; no depth limit: only JSON.stringify walks the value.
      return JSON.stringify(parseJsonText(text, Number.POSITIVE_INFINITY), null, 2);
    } catch {
      return text;
    }
  }
  if (isXml(type) || (!type && /^\s*</.test(text))) return prettyXml(text);
  return text;
}

const XML_TOKEN = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>|<![^>]*>|<[^>]+>|[^<]+/g;

/**
 * XML indented by two spaces per level for display, an element holding only text kept on one line.
 * Anything it does not recognise (unbalanced tags, a stray `<`) is shown exactly as stored.
 */
export function prettyXml(text: string): string {
  const tokens = text.match(XML_TOKEN) ?? [];
  if (tokens.join('') !== text) return text;
  const out: string[] = [];
  let depth = 0;
  const pad = () => '  '.repeat(depth);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (!token.startsWith('<')) {
      if (token.trim()) out.push(pad() + token.trim());
      continue;
    }
    if (token.startsWith('</')) {
      depth--;
      if (depth < 0) return text;
      out.push(pad() + token);
    } else if (/^<[^!?]/.test(token) && !token.endsWith('/>')) {
      const [textToken, close] = [tokens[i + 1], tokens[i + 2]];
      if (textToken && !textToken.startsWith('<') && close?.startsWith('</')) {
        out.push(pad() + token + textToken + close);
        i += 2;
      } else {
        out.push(pad() + token);
        depth++;
      }
    } else {
      out.push(pad() + token);
    }
  }
  return depth === 0 ? out.join('\n') : text;
}
