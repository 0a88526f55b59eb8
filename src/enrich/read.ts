/**
 * Reading a lookup's answer into a value for the payload: JSON (numbers as the API wrote them,
 * nested no deeper than the route's `limits.jsonDepth`), XML (the `xml` step's convention with its
 * default limits) or text, chosen by `parse` or, for `auto`, by the answer's Content-Type.
 */
import { HookrelayError } from '../core/errors.ts';
import { parseJsonText } from '../core/json.ts';
import { isJson, isXml, mediaType } from '../transforms/payload.ts';
import { createXmlReader, type XmlConfig, xmlTransform } from '../transforms/xml.ts';
import type { FetchConfig } from './schema.ts';

export interface LookupAnswer {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

/** Reads XML as a default `xml` step would: the same limits, entities off, no DOCTYPE. */
export function xmlReaderFor(step: string): (bytes: Buffer, contentType: string | undefined) => unknown {
  return createXmlReader(xmlTransform.schema.parse({ type: 'xml' }) as XmlConfig, step);
}

export function contentTypeOf(answer: LookupAnswer): string | undefined {
  const value = answer.headers['content-type'];
  return Array.isArray(value) ? value[0] : value;
}

type Format = 'json' | 'xml' | 'text';

function formatOf(
  parse: FetchConfig['parse'],
  contentType: string | undefined,
  bytes: Buffer,
): Format | undefined {
  if (parse !== 'auto') return parse;
  if (isJson(contentType)) return 'json';
  if (isXml(contentType)) return 'xml';
  const type = mediaType(contentType);
  if (type.startsWith('text/')) return 'text';
  if (type === '') return looksLikeJson(bytes) ? 'json' : 'text';
  return undefined;
}

function looksLikeJson(bytes: Buffer): boolean {
  try {
    JSON.parse(bytes.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

/**
 * The answer as a value; throws HOOKRELAY_ERR_FETCH_MALFORMED when it is not what its format
 * says. An empty body is `null` (`''` as text).
 */
export function readAnswer(
  answer: LookupAnswer,
  parse: FetchConfig['parse'],
  step: string,
  jsonDepth: number,
  readXml: (bytes: Buffer, contentType: string | undefined) => unknown,
): unknown {
  const contentType = contentTypeOf(answer);
  const format = formatOf(parse, contentType, answer.body);
  const refuse = (as: string, reason: string) =>
    new HookrelayError('HOOKRELAY_ERR_FETCH_MALFORMED', { step, status: answer.status, format: as, reason });
  if (format === undefined) {
    throw refuse('JSON, XML or text', `a ${mediaType(contentType)} answer: set \`parse\` to read it`);
  }
  if (format === 'text') return answer.body.toString('utf8');
  if (answer.body.length === 0) return null;
  if (format === 'json') {
    try {
      return parseJsonText(answer.body.toString('utf8'), jsonDepth);
    } catch (error) {
      throw refuse('JSON', reasonOf(error));
    }
  }
  try {
    return readXml(answer.body, contentType);
  } catch (error) {
    throw refuse('XML', reasonOf(error));
  }
}

function reasonOf(error: unknown): string {
  if (error instanceof HookrelayError && typeof error.params.reason === 'string') return error.params.reason;
  const message = error instanceof Error ? error.message : String(error);
  // The parser's message, without the text it quotes (which may be the answer's content).
  return message.replace(/, "[\s\S]*$/, '').slice(0, 200);
}
