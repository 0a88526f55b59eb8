/**
 * The payload's formats: media types, the JSON and XML tests, the body as a value for structure-
 * working steps (JSON parsed on first use, with line and column on a syntax error), and
 * serialising a value back to bytes.
 */
import { JsonDepthError, parseJsonText } from '../core/json.ts';
import { DEFAULT_JSON_DEPTH } from '../core/json-depth.ts';
import { lineColumn } from '../core/line-column.ts';
import { malformed, unsupported } from './errors.ts';
import type { Payload, TransformContext } from './types.ts';

/** Media type without parameters, lower-cased: `Text/XML; charset=utf-8` → `text/xml`. */
export function mediaType(contentType: string | undefined): string {
  if (!contentType) return '';
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

export function isJson(contentType: string | undefined): boolean {
  const type = mediaType(contentType);
  return type === 'application/json' || type.endsWith('+json') || type === 'text/json';
}

export function isXml(contentType: string | undefined): boolean {
  const type = mediaType(contentType);
  return type === 'application/xml' || type === 'text/xml' || type.endsWith('+xml');
}

export function isForm(contentType: string | undefined): boolean {
  return mediaType(contentType) === 'application/x-www-form-urlencoded';
}

/**
 * The payload as a value, for steps that work on structure (map, query, headers templates).
 * A JSON body (or an empty one, or one without a content type that parses as JSON) is parsed
 * here; other formats need their parsing step (`xml`, `form`) first.
 */
export function payloadValue(ctx: TransformContext, step: string): unknown {
  const { payload } = ctx;
  if (payload.kind === 'value') return payload.value;
  const { bytes, contentType } = payload;
  if (bytes.length === 0) return {};
  if (isJson(contentType) || !contentType) {
    const value = parseJson(bytes, step, ctx.jsonDepth);
    ctx.payload = { kind: 'value', value };
    return value;
  }
  throw unsupported(step, contentType, 'a JSON body, or an `xml` or `form` step before this one');
}

/**
 * A JSON body as a value (json.ts: every number as the caller wrote it), with the line and column
 * of a syntax error, as V8 reports a position. Text nested deeper than `maxDepth` is refused first.
 */
export function parseJson(bytes: Buffer, step: string, maxDepth = DEFAULT_JSON_DEPTH): unknown {
  const text = bytes.toString('utf8');
  try {
    return parseJsonText(text, maxDepth);
  } catch (error) {
    if (error instanceof JsonDepthError) {
      const { line, column } = lineColumn(text, error.offset);
      throw malformed(
        step,
        'JSON',
        `nested deeper than the limit of ${maxDepth} levels (limits.jsonDepth) at line ${line}, column ${column}`,
      );
    }
    const message = (error as Error).message;
    const position = /position (\d+)/.exec(message);
    if (position) {
      const { line, column } = lineColumn(text, Number(position[1]));
      throw malformed(
        step,
        'JSON',
        `${message.replace(/ in JSON at position \d+.*$/, '')} at line ${line}, column ${column}`,
      );
    }
    throw malformed(step, 'JSON', message);
  }
}

/** Bytes and content type to forward once every step has run. */
export function serialise(payload: Payload): { bytes: Buffer; contentType: string | undefined } {
  if (payload.kind === 'bytes') return { bytes: payload.bytes, contentType: payload.contentType };
  return { bytes: Buffer.from(JSON.stringify(payload.value ?? null)), contentType: 'application/json' };
}
