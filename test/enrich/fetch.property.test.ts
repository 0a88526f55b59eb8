import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InboundMessage } from '../../src/core/message.ts';
import { fetchSchema } from '../../src/enrich/index.ts';
import { createFetchStep } from '../../src/enrich/step.ts';
import { runTransforms, StepError } from '../../src/transforms/run.ts';

/** Arbitrary lookup answers (bytes, status, content type) never crash the step: a value or a defined code. */

const DEFINED = new Set([
  'HOOKRELAY_ERR_FETCH_STATUS',
  'HOOKRELAY_ERR_FETCH_FAILED',
  'HOOKRELAY_ERR_FETCH_TOO_LARGE',
  'HOOKRELAY_ERR_FETCH_MALFORMED',
]);

const message: InboundMessage = {
  requestId: 'r1',
  routeId: 'p',
  method: 'POST',
  path: '/in',
  params: {},
  query: new URLSearchParams(),
  rawQuery: '',
  headers: {},
  body: Buffer.from('{"id":"U1"}'),
  clientIp: '127.0.0.1',
  receivedAt: 0,
};

describe('fetch: arbitrary lookup answers', () => {
  for (const parse of ['auto', 'json', 'xml', 'text'] as const) {
    it(`parse: ${parse}`, async () => {
      const config = fetchSchema.parse({
        type: 'fetch',
        url: 'https://id.example.com/users/{body.id}',
        into: 'user',
        parse,
        maxResponse: 256,
        answers: { '410': { status: 404, body: '{{ body.user }}' } },
      });
      const info = { routeId: 'p', index: 0, name: 'transform[0] (fetch)' };
      const steps = [{ info, step: createFetchStep(config, info) }];
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 100, max: 599 }),
          fc.oneof(
            fc.string(),
            fc.json(),
            fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b).toString('latin1')),
          ),
          fc.constantFrom(undefined, 'application/json', 'application/xml', 'text/plain', 'image/png'),
          async (status, body, contentType) => {
            const payload = { kind: 'bytes' as const, bytes: message.body, contentType: 'application/json' };
            const fixtures = { user: { status, body, contentType } };
            try {
              const result = await runTransforms(
                steps,
                message,
                payload,
                { jsonDepth: 16 },
                { lookups: { kind: 'fixtures', fixtures } },
              );
              expect(status).toBeGreaterThanOrEqual(200);
              expect(status).toBeLessThan(300);
              expect(result.value).toHaveProperty('user');
            } catch (error) {
              expect(error).toBeInstanceOf(StepError);
              expect(DEFINED.has((error as StepError).error.code)).toBe(true);
            }
          },
        ),
        { numRuns: 300 },
      );
    });
  }
});
