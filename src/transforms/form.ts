/**
 * `form`: an HTML form body to a JSON object. `application/x-www-form-urlencoded` is decoded with
 * URLSearchParams (UTF-8, `+` is a space); `multipart/form-data` with the Fetch API built into
 * Node (`Response.formData()`), files reported as metadata, with their bytes in base64, or dropped.
 * A field sent once is a string, a repeated one an array of its values in order. With `nested`,
 * bracket keys (`order[items][0][sku]`, `tags[]`) build objects and arrays as PHP and Rails do.
 */
import { z } from 'zod';
import type { Plugin } from '../core/registry.ts';
import { failed, malformed, unsupported } from './errors.ts';
import { mediaType } from './payload.ts';
import type { StepInfo, TransformContext, TransformStep } from './types.ts';

const FILES = ['metadata', 'base64', 'drop'] as const;
const EXPECTED = 'application/x-www-form-urlencoded or multipart/form-data';
/** Bracket levels accepted under one field name with `nested` (the caller's keys are untrusted). */
const MAX_DEPTH = 32;
/** Array indices `[0]`…`[999999999]` in canonical form; anything else is an object key. */
const INDEX = /^(?:0|[1-9]\d{0,8})$/;

const schema = z
  .strictObject({
    type: z.literal('form'),
    nested: z.boolean().default(false).meta({
      description:
        'Turn bracket keys into nested objects and arrays, PHP/Rails style: `order[id]=1&order[items][0][sku]=a&tags[]=x` gives `{"order":{"id":"1","items":[{"sku":"a"}]},"tags":["x"]}`. Numeric indices make arrays (in index order, gaps closed), `[]` appends. A field that is both a value and a group (`a=1&a[b]=2`) fails the request with 422. Off: keys are kept exactly as sent.',
      example: true,
    }),
    alwaysArray: z
      .array(z.string().min(1))
      .default([])
      .meta({
        description:
          'Fields that are always arrays, even when sent once (other fields are an array only when repeated). Named as sent in the body, e.g. `item` or, with `nested`, `order[tag]`.',
        example: ['item'],
      }),
    files: z.enum(FILES).default('metadata').meta({
      description:
        'multipart/form-data file parts: `metadata` gives `{ filename, contentType, size }`, `base64` adds `data` (the bytes in base64), `drop` leaves them out.',
      example: 'base64',
    }),
  })
  .meta({
    title: 'form',
    description:
      'Form body to a JSON object: `application/x-www-form-urlencoded` (UTF-8, `+` is a space) or `multipart/form-data` (text fields and files). A repeated field becomes an array. An empty body, or one without a Content-Type, is read as urlencoded; another content type is refused with 415, a broken multipart body (no boundary, truncated) with 400.',
  });

type FormConfig = z.output<typeof schema>;

export const formTransform: Plugin<typeof schema, TransformStep> = {
  type: 'form',
  description: 'Form body (urlencoded or multipart) to a JSON object.',
  schema,
  create(config: FormConfig, info?: StepInfo): TransformStep {
    const step = info?.name ?? 'form';
    const alwaysArray = new Set(config.alwaysArray);
    const { files, nested } = config;
    return {
      async run(ctx: TransformContext) {
        const { payload } = ctx;
        // An earlier step already produced structured data: there is no form left to read.
        if (payload.kind !== 'bytes') throw unsupported(step, 'application/json', EXPECTED);
        const type = mediaType(payload.contentType);
        let entries: Iterable<[string, unknown]>;
        if (payload.bytes.length === 0 && (type === '' || type === 'multipart/form-data')) {
          entries = [];
        } else if (type === 'application/x-www-form-urlencoded' || type === '') {
          entries = new URLSearchParams(payload.bytes.toString('utf8'));
        } else if (type === 'multipart/form-data') {
          entries = await multipartEntries(payload.bytes, payload.contentType!, files, step);
        } else {
          throw unsupported(step, payload.contentType, EXPECTED);
        }
        const value = nested ? nestedObject(entries, alwaysArray, step) : fieldsObject(entries, alwaysArray);
        ctx.payload = { kind: 'value', value };
      },
    };
  },
};

/** Defines an own enumerable property, so a key like `__proto__` is data, never a prototype. */
export function setOwn(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

/** Name/value pairs to an object: a name sent once maps to its value, a repeated one to an array. */
export function fieldsObject(
  entries: Iterable<[string, unknown]>,
  alwaysArray: ReadonlySet<string> = new Set(),
): Record<string, unknown> {
  const grouped = new Map<string, unknown[]>();
  for (const [key, value] of entries) {
    const list = grouped.get(key);
    if (list) list.push(value);
    else grouped.set(key, [value]);
  }
  const out: Record<string, unknown> = {};
  for (const [key, values] of grouped) {
    setOwn(out, key, values.length === 1 && !alwaysArray.has(key) ? values[0] : values);
  }
  return out;
}

export interface FileField {
  filename: string;
  contentType: string;
  size: number;
  data?: string;
}

async function multipartEntries(
  bytes: Buffer,
  contentType: string,
  files: FormConfig['files'],
  step: string,
): Promise<[string, unknown][]> {
  let data: FormData;
  try {
    data = await new Response(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), {
      headers: { 'content-type': contentType },
    }).formData();
  } catch (error) {
    // undici: TypeError('Failed to parse body as FormData.', { cause: 'no boundary found …' }).
    const cause = (error as Error).cause;
    const reason = cause instanceof Error ? cause.message : (error as Error).message;
    throw malformed(step, 'multipart/form-data', reason);
  }
  const out: [string, unknown][] = [];
  for (const [key, value] of data) {
    if (typeof value === 'string') {
      out.push([key, value]);
    } else if (files !== 'drop') {
      const field: FileField = { filename: value.name, contentType: value.type, size: value.size };
      if (files === 'base64') field.data = Buffer.from(await value.arrayBuffer()).toString('base64');
      out.push([key, field]);
    }
  }
  return out;
}

// --- nested (bracket) keys ---------------------------------------------------------------------

interface Leaf {
  values: unknown[];
  force: boolean;
}
interface Group {
  children: Map<string, Node>;
  /** Index the next `[]` appends at. */
  next: number;
  /** Key of the last element `[]` created, which `a[][x]=…&a[][y]=…` fills before starting another. */
  lastAppended: string | undefined;
}
type Node = Leaf | Group;

const group = (): Group => ({ children: new Map(), next: 0, lastAppended: undefined });
const isLeaf = (node: Node): node is Leaf => 'values' in node;

/** `order[items][0][sku]` → ['order', 'items', '0', 'sku']; a key that is not of that shape → undefined. */
export function bracketPath(key: string): string[] | undefined {
  const open = key.indexOf('[');
  if (open <= 0) return undefined;
  const segments = [key.slice(0, open)];
  let i = open;
  while (i < key.length) {
    if (key[i] !== '[') return undefined;
    const close = key.indexOf(']', i + 1);
    if (close === -1) return undefined;
    segments.push(key.slice(i + 1, close));
    i = close + 1;
  }
  return segments;
}

function nestedObject(
  entries: Iterable<[string, unknown]>,
  alwaysArray: ReadonlySet<string>,
  step: string,
): Record<string, unknown> {
  const root = group();
  for (const [key, value] of entries) {
    const path = bracketPath(key) ?? [key];
    if (path.length > MAX_DEPTH + 1) {
      throw failed(step, `form field '${short(key)}' nests deeper than ${MAX_DEPTH} levels`);
    }
    insert(root, path, value, alwaysArray.has(key), key, step);
  }
  const out: Record<string, unknown> = {};
  for (const [key, child] of root.children) setOwn(out, key, finish(child));
  return out;
}

function insert(
  root: Group,
  path: string[],
  value: unknown,
  force: boolean,
  key: string,
  step: string,
): void {
  let node = root;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!;
    const last = i === path.length - 1;
    let name: string;
    if (segment === '' && i > 0) {
      const previous = node.lastAppended === undefined ? undefined : node.children.get(node.lastAppended);
      if (!last && previous && !isLeaf(previous) && !occupied(previous, path, i + 1)) {
        name = node.lastAppended!;
      } else {
        name = String(node.next++);
        node.lastAppended = name;
      }
    } else {
      name = segment;
      if (i > 0 && INDEX.test(name)) node.next = Math.max(node.next, Number(name) + 1);
    }
    const child = node.children.get(name);
    if (last) {
      if (!child) node.children.set(name, { values: [value], force });
      else if (isLeaf(child)) {
        child.values.push(value);
        child.force ||= force;
      } else throw conflict(step, key);
    } else if (!child) {
      const created = group();
      node.children.set(name, created);
      node = created;
    } else if (isLeaf(child)) {
      throw conflict(step, key);
    } else {
      node = child;
    }
  }
}

/** Whether `path[from…]` already holds a value under `node`, so `[]` must start a new element. */
function occupied(node: Node, path: string[], from: number): boolean {
  let current = node;
  for (let i = from; i < path.length; i++) {
    if (isLeaf(current)) return true;
    const segment = path[i]!;
    if (segment === '') return false;
    const child = current.children.get(segment);
    if (!child) return false;
    current = child;
  }
  return true;
}

function finish(node: Node): unknown {
  if (isLeaf(node)) return node.values.length === 1 && !node.force ? node.values[0] : node.values;
  const keys = [...node.children.keys()];
  if (keys.every((key) => INDEX.test(key))) {
    return keys
      .map(Number)
      .sort((a, b) => a - b)
      .map((index) => finish(node.children.get(String(index))!));
  }
  const out: Record<string, unknown> = {};
  for (const [key, child] of node.children) setOwn(out, key, finish(child));
  return out;
}

function conflict(step: string, key: string) {
  return failed(
    step,
    `form field '${short(key)}' conflicts with an earlier field: one name cannot be both a value and a group of fields`,
  );
}

/** Field names come from the caller: keep them short in error messages. */
function short(key: string): string {
  return key.length > 64 ? `${key.slice(0, 64)}…` : key;
}
