import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HookrelayError } from '../../src/core/errors.ts';
import type { InboundMessage } from '../../src/core/message.ts';
import { transformSchema } from '../../src/transforms/index.ts';
import { runTransforms, StepError } from '../../src/transforms/run.ts';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';
import { compile, inbound } from './support.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/transforms/form');
const fixture = (name: string) => readFileSync(join(FIXTURES, name));
const json = (name: string) => JSON.parse(fixture(name).toString('utf8')) as unknown;

const FORM = 'application/x-www-form-urlencoded';

function message(body: Buffer): InboundMessage {
  return inbound({ body });
}

/** Runs `form` steps over a body; resolves to the forwarded JSON value or the step's error. */
async function run(
  options: Record<string, unknown>,
  body: string | Buffer,
  contentType: string | undefined = FORM,
): Promise<unknown> {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const result = await runTransforms(compile({ type: 'form', ...options }), message(bytes), {
    kind: 'bytes',
    bytes,
    contentType,
  });
  expect(result.contentType).toBe('application/json');
  return JSON.parse(result.body.toString('utf8'));
}

async function failure(
  options: Record<string, unknown>,
  body: string | Buffer,
  contentType: string | undefined = FORM,
): Promise<HookrelayError> {
  const error = await run(options, body, contentType).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StepError);
  const inner = (error as StepError).error;
  expect(inner).toBeInstanceOf(HookrelayError);
  return inner;
}

interface Part {
  name: string;
  value?: string;
  filename?: string;
  type?: string;
  data?: Buffer;
}

/** A multipart/form-data body as browsers and HTTP clients write it (CRLF line ends). */
function multipart(boundary: string, parts: Part[]): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if (part.filename !== undefined) head += `; filename="${part.filename}"`;
    head += '\r\n';
    if (part.type) head += `Content-Type: ${part.type}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`), part.data ?? Buffer.from(part.value ?? ''), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

describe('form: urlencoded', () => {
  const cases: [string, Record<string, unknown>, string | Buffer, unknown, string?][] = [
    [
      'a payment callback fixture (repeats, UTF-8, encoded & and =, empty value)',
      {},
      fixture('payment.form'),
      json('payment.json'),
    ],
    ['a repeated key becomes an array in order', {}, 'a=1&b=3&a=2', { a: ['1', '2'], b: '3' }],
    [
      '`+` is a space, %2B a plus, percent-decoding as UTF-8',
      {},
      'q=a+b%2Bc&x%20y=%E2%82%AC+10',
      { q: 'a b+c', 'x y': '€ 10' },
    ],
    [
      'alwaysArray makes a single value an array',
      { alwaysArray: ['item', 'absent'] },
      'item=one&other=x',
      { item: ['one'], other: 'x' },
    ],
    [
      'alwaysArray keeps a repeated key an array',
      { alwaysArray: ['item'] },
      'item=a&item=b',
      { item: ['a', 'b'] },
    ],
    [
      'without nested, bracket keys are kept as sent',
      {},
      'order[id]=1&order%5Bid%5D=2',
      { 'order[id]': ['1', '2'] },
    ],
    ['a key without `=` has an empty value', {}, 'flag&x=', { flag: '', x: '' }],
    ['bad percent escapes are kept, bad UTF-8 is replaced', {}, 'a=%ZZ&b=%E2', { a: '%ZZ', b: '\uFFFD' }],
    ['an empty body is an empty object', {}, '', {}],
    ['a body without a content type is read as urlencoded', {}, 'a=1', { a: '1' }, ''],
    [
      'content type parameters are ignored',
      {},
      'a=1',
      { a: '1' },
      'Application/X-WWW-Form-Urlencoded; charset=UTF-8',
    ],
    [
      'values are never converted: leading zeros survive',
      {},
      'zip=01234&n=1e3&t=true',
      { zip: '01234', n: '1e3', t: 'true' },
    ],
  ];
  it.each(cases)('%s', async (_name, options, body, expected, contentType) => {
    expect(await run(options, body, contentType === '' ? undefined : (contentType ?? FORM))).toEqual(
      expected,
    );
  });

  it('a `__proto__` field is plain data', async () => {
    const value = (await run({}, '__proto__=x&constructor=y')) as Record<string, unknown>;
    expect(Object.getOwnPropertyNames(value)).toEqual(['__proto__', 'constructor']);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});

describe('form: nested bracket keys', () => {
  const cases: [string, Record<string, unknown>, string, unknown][] = [
    [
      'a gateway callback fixture (objects, indexed arrays, `[]`, Rails-style `[][x]`)',
      {},
      fixture('nested.form').toString(),
      json('nested.json'),
    ],
    ['indices sort numerically and gaps close', {}, 'a[5]=x&a[2]=y&a[10]=z', { a: ['y', 'x', 'z'] }],
    ['indexed and named keys together make an object', {}, 'a[0]=x&a[b]=y', { a: { 0: 'x', b: 'y' } }],
    ['a leading-zero index is a key, not an index', {}, 'a[007]=x', { a: { '007': 'x' } }],
    ['a repeated leaf is an array', {}, 'a[b]=1&a[b]=2', { a: { b: ['1', '2'] } }],
    ['`[]` sent once is still an array', {}, 'a[]=1', { a: ['1'] }],
    ['`[]` after explicit indices appends', {}, 'a[3]=x&a[]=y', { a: ['x', 'y'] }],
    ['`[][b][]` collects into the same element', {}, 'a[][b][]=1&a[][b][]=2', { a: [{ b: ['1', '2'] }] }],
    [
      'keys that are not bracket paths are kept as sent',
      {},
      'a[b=1&[x]=2&a]b=3&a[b]c=4&plain=5',
      { 'a[b': '1', '[x]': '2', 'a]b': '3', 'a[b]c': '4', plain: '5' },
    ],
    ['top-level numeric names stay object keys', {}, '0=a&1=b', { 0: 'a', 1: 'b' }],
    [
      'alwaysArray names the key as sent',
      { alwaysArray: ['order[tag]'] },
      'order[tag]=x&order[id]=1',
      { order: { tag: ['x'], id: '1' } },
    ],
    ['an empty segment name inside brackets is an append', {}, 'a[x][]=1&a[x][]=2', { a: { x: ['1', '2'] } }],
  ];
  it.each(cases)('%s', async (_name, options, body, expected) => {
    expect(await run({ nested: true, ...options }, body)).toEqual(expected);
  });

  it('`__proto__` in a path is plain data and pollutes nothing', async () => {
    const value = (await run({ nested: true }, '__proto__[polluted]=1&a[__proto__][b]=2')) as Record<
      string,
      Record<string, unknown>
    >;
    expect(Object.getOwnPropertyNames(value)).toEqual(['__proto__', 'a']);
    expect(Object.getOwnPropertyDescriptor(value, '__proto__')?.value).toEqual({ polluted: '1' });
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['a value, then a group', 'a=1&a[b]=2'],
    ['a group, then a value', 'a[b]=2&a=1'],
    ['a deeper conflict', 'a[b][c]=1&a[b]=2'],
  ])('a name that is both a value and a group fails with 422: %s', async (_name, body) => {
    const error = await failure({ nested: true }, body);
    expect(error.status).toBe(422);
    expect(error.code).toBe('HOOKRELAY_ERR_TRANSFORM_FAILED');
    expect(error.message).toContain('transform[0] (form)');
    expect(error.message).toContain("form field 'a");
  });

  it('nesting is bounded at 32 levels: deeper fails with 422, no stack growth', async () => {
    const key = (depth: number) => `a${'[x]'.repeat(depth)}`;
    let expected: unknown = 'v';
    for (let i = 0; i < 32; i++) expected = { x: expected };
    expect(await run({ nested: true }, `${key(32)}=v`)).toEqual({ a: expected });
    const error = await failure({ nested: true }, `${key(33)}=v`);
    expect(error.status).toBe(422);
    expect(error.message).toContain('deeper than 32 levels');
    const huge = await failure({ nested: true }, `${key(100_000)}=v`);
    expect(huge.status).toBe(422);
    expect(huge.message.length).toBeLessThan(300);
  });

  it('a huge index does not allocate a huge array', async () => {
    expect(await run({ nested: true }, 'a[999999999]=x')).toEqual({ a: ['x'] });
  });
});

describe('form: multipart/form-data', () => {
  const boundary = '----hookrelay7MA4YWxkTrZu0gW';
  const type = `multipart/form-data; boundary=${boundary}`;
  const pdf = Buffer.from([0x25, 0x50, 0x44, 0x46, 0x00, 0xff, 0x0a]);
  const body = multipart(boundary, [
    { name: 'note', value: 'héllo wörld\r\nline 2' },
    { name: 'invoice', filename: 'inv 42.pdf', type: 'application/pdf', data: pdf },
    { name: 'tag', value: 'a' },
    { name: 'tag', value: 'b' },
  ]);
  const meta = { filename: 'inv 42.pdf', contentType: 'application/pdf', size: pdf.length };
  const cases: [string, Record<string, unknown>, unknown][] = [
    ['files as metadata by default', {}, { note: 'héllo wörld\r\nline 2', invoice: meta, tag: ['a', 'b'] }],
    [
      'files as metadata plus base64 data',
      { files: 'base64' },
      { note: 'héllo wörld\r\nline 2', invoice: { ...meta, data: pdf.toString('base64') }, tag: ['a', 'b'] },
    ],
    ['files dropped', { files: 'drop' }, { note: 'héllo wörld\r\nline 2', tag: ['a', 'b'] }],
    [
      'alwaysArray applies to files and fields',
      { alwaysArray: ['invoice', 'note'] },
      { note: ['héllo wörld\r\nline 2'], invoice: [meta], tag: ['a', 'b'] },
    ],
  ];
  it.each(cases)('%s', async (_name, options, expected) => {
    expect(await run(options, body, type)).toEqual(expected);
  });

  it('repeated file fields become an array of files; an empty file input is a file of size 0', async () => {
    const files = multipart('b', [
      { name: 'doc', filename: 'a.txt', type: 'text/plain', value: 'AAA' },
      { name: 'doc', filename: 'b.csv', type: 'text/csv', value: 'x,y\n' },
      { name: 'empty', filename: '', type: 'application/octet-stream', value: '' },
    ]);
    expect(await run({ files: 'base64' }, files, 'multipart/form-data; boundary=b')).toEqual({
      doc: [
        { filename: 'a.txt', contentType: 'text/plain', size: 3, data: 'QUFB' },
        { filename: 'b.csv', contentType: 'text/csv', size: 4, data: 'eCx5Cg==' },
      ],
      empty: { filename: '', contentType: 'application/octet-stream', size: 0, data: '' },
    });
  });

  it('bracket field names nest with `nested`; a quoted boundary works', async () => {
    const nestedBody = multipart('q b', [
      { name: 'order[id]', value: '7' },
      { name: 'order[lines][0][sku]', value: 'A' },
      { name: 'order[file]', filename: 'x.bin', type: 'application/octet-stream', value: 'xy' },
    ]);
    expect(await run({ nested: true }, nestedBody, 'multipart/form-data; boundary="q b"')).toEqual({
      order: {
        id: '7',
        lines: [{ sku: 'A' }],
        file: { filename: 'x.bin', contentType: 'application/octet-stream', size: 2 },
      },
    });
  });

  it('an empty multipart body is an empty object', async () => {
    expect(await run({}, '', type)).toEqual({});
  });

  it.each([
    ['no boundary in the content type', body, 'multipart/form-data', /boundary/],
    ['a boundary the body does not use', body, 'multipart/form-data; boundary=other', /boundary/],
    ['a truncated body', body.subarray(0, 60), type, /./],
    ['a body cut before the closing boundary', body.subarray(0, body.length - 12), type, /./],
    ['garbage', Buffer.from('not a multipart body'), type, /boundary/],
  ])('a broken multipart body is 400: %s', async (_name, bytes, contentType, reason) => {
    const error = await failure({}, bytes, contentType);
    expect(error.status).toBe(400);
    expect(error.code).toBe('HOOKRELAY_ERR_MALFORMED_BODY');
    expect(error.message).toContain('transform[0] (form): malformed multipart/form-data body: ');
    expect(error.message).toMatch(reason);
  });
});

describe('form: other bodies', () => {
  it.each([
    ['JSON', '{"a":1}', 'application/json'],
    ['XML', '<a/>', 'text/xml'],
    ['binary', '\u0000\u0001', 'application/octet-stream'],
    ['an empty JSON body', '', 'application/json'],
  ])('%s is refused with 415', async (_name, body, contentType) => {
    const error = await failure({}, body, contentType);
    expect(error.status).toBe(415);
    expect(error.code).toBe('HOOKRELAY_ERR_UNSUPPORTED_MEDIA_TYPE');
    expect(error.message).toContain('expected application/x-www-form-urlencoded or multipart/form-data');
  });

  it('a body an earlier step already parsed is refused with 415', async () => {
    const steps = compile({ type: 'form' }, { type: 'form' });
    const error = await runTransforms(steps, message(Buffer.from('a=1')), {
      kind: 'bytes',
      bytes: Buffer.from('a=1'),
      contentType: FORM,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepError);
    expect((error as StepError).step.name).toBe('transform[1] (form)');
    expect((error as StepError).error.status).toBe(415);
  });

  it.each([
    [{ files: 'inline' }, 'files'],
    [{ nested: 'yes' }, 'nested'],
    [{ alwaysArray: [''] }, 'alwaysArray'],
    [{ arrays: 'always' }, ''],
  ])('rejects a bad option %j', (options, path) => {
    const result = transformSchema.safeParse({ type: 'form', ...options });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path.join('.')).toContain(path);
  });
});

describe('form: end to end', () => {
  let target: Target;
  let relay: Relay;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
  });

  it('a form-encoded payment callback reaches the target as JSON', async () => {
    target = await startTarget();
    relay = await startRelay(`
routes:
  - id: payments
    path: /in/payments
    forward:
      url: ${target.url}/hooks/payment
    transform:
      - type: form
`);
    const res = await fetch(`${relay.url}/in/payments`, {
      method: 'POST',
      headers: { 'content-type': `${FORM}; charset=utf-8` },
      body: fixture('payment.form'),
    });
    expect(res.status).toBe(200);
    expect(target.received).toHaveLength(1);
    const got = target.received[0]!;
    expect(got.method).toBe('POST');
    expect(got.url).toBe('/hooks/payment');
    expect(got.headers['content-type']).toBe('application/json');
    expect(JSON.parse(got.body.toString('utf8'))).toEqual(json('payment.json'));
  });

  it('a multipart upload reaches the target as JSON with the file in base64; a broken one is a 400', async () => {
    target = await startTarget();
    relay = await startRelay(`
routes:
  - id: uploads
    path: /in/uploads
    forward:
      url: ${target.url}/hooks/upload
    transform:
      - type: form
        files: base64
`);
    const form = new FormData();
    form.append('ticket', 'T-9');
    form.append('scan', new Blob([Buffer.from('%PDF-1.7')], { type: 'application/pdf' }), 'scan.pdf');
    const res = await fetch(`${relay.url}/in/uploads`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    expect(JSON.parse(target.received[0]!.body.toString('utf8'))).toEqual({
      ticket: 'T-9',
      scan: {
        filename: 'scan.pdf',
        contentType: 'application/pdf',
        size: 8,
        data: Buffer.from('%PDF-1.7').toString('base64'),
      },
    });

    const broken = await fetch(`${relay.url}/in/uploads`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data' },
      body: '--x\r\n',
    });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { error: string }).error).toBe('HOOKRELAY_ERR_MALFORMED_BODY');
    expect(target.received).toHaveLength(1);
  });
});
