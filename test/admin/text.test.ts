import { describe, expect, it } from 'vitest';
import { age, describe as describeDelivery, prettyXml } from '../../src/present/text.ts';
import { attemptView, detail } from '../../src/present/view.ts';
import type { DeliveryRecord } from '../../src/queue/types.ts';

describe('prettyXml', () => {
  it('indents elements, keeps text-only elements on one line', () => {
    expect(prettyXml('<?xml version="1.0"?><a x="1"><b>1</b><c><d/></c></a>')).toBe(
      '<?xml version="1.0"?>\n<a x="1">\n  <b>1</b>\n  <c>\n    <d/>\n  </c>\n</a>',
    );
  });

  it('leaves what it cannot indent as it is', () => {
    for (const text of ['<a><b></a>', 'a < b', '<a>1</a></b>', 'plain']) expect(prettyXml(text)).toBe(text);
    expect(prettyXml('<a><!-- c --><b>x</b><![CDATA[<y>]]></a>')).toBe(
      '<a>\n  <!-- c -->\n  <b>x</b>\n  <![CDATA[<y>]]>\n</a>',
    );
  });
});

describe('age', () => {
  it('is the largest whole unit, days from 48 hours', () => {
    expect([0, 59_999, 60_000, 3_599_999, 3_600_000, 47 * 3_600_000, 48 * 3_600_000, -5].map(age)).toEqual([
      '0s',
      '59s',
      '1m',
      '59m',
      '1h',
      '47h',
      '2d',
      '0s',
    ]);
  });
});

describe('a delivery in detail', () => {
  it('indents a JSON body without changing a digit of its numbers', async () => {
    const body = Buffer.from(
      '{"id":5738291046618274931,"price":10.50,"ids":[12345678901234567890,12345678901234567891]}',
    );
    const record: DeliveryRecord = {
      id: 'd1',
      routeId: 'shop',
      requestId: 'r1',
      request: {
        method: 'POST',
        url: 'https://api.example.com/orders',
        headers: { 'content-type': 'application/json' },
        body,
      },
      createdAt: 0,
      nextAttemptAt: 0,
      attempts: 0,
      status: 'pending',
      leaseUntil: undefined,
      updatedAt: 0,
      lastStatus: undefined,
      lastError: undefined,
      lastCode: undefined,
      lastResponse: undefined,
      deliveredAt: undefined,
      replays: 0,
      replayedAt: undefined,
      bodyBytes: body.length,
      historyBytes: 0,
      attemptsDropped: 0,
    };
    const text = describeDelivery(await detail(record), [], record, 0);
    expect(text).toContain(
      [
        '{',
        '  "id": 5738291046618274931,',
        '  "price": 10.50,',
        '  "ids": [',
        '    12345678901234567890,',
        '    12345678901234567891',
        '  ]',
        '}',
      ].join('\n'),
    );
  });

  it("names the accepting request's trace and each attempt's, and leaves them out with tracing off", async () => {
    const record: DeliveryRecord = {
      id: 'd2',
      routeId: 'shop',
      requestId: 'r2',
      request: { method: 'POST', url: 'https://api.example.com/orders', headers: {}, body: undefined },
      createdAt: 0,
      nextAttemptAt: 0,
      attempts: 2,
      status: 'delivered',
      leaseUntil: undefined,
      updatedAt: 0,
      lastStatus: 200,
      lastError: undefined,
      lastCode: undefined,
      lastResponse: undefined,
      deliveredAt: 0,
      replays: 0,
      replayedAt: undefined,
      bodyBytes: 0,
      historyBytes: 0,
      attemptsDropped: 0,
      trace: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    };
    const attempts = [
      { at: 0, durationMs: 5, status: 503, error: undefined },
      {
        at: 1000,
        durationMs: 4,
        status: 200,
        error: undefined,
        traceId: '5b8efff798038103d269b633813fc60c',
        spanId: 'eee19b7ec3c1b174',
      },
    ].map(attemptView);
    const view = await detail(record);
    expect(view.trace).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' });
    const text = describeDelivery(view, attempts, record, 0);
    expect(text).toContain(
      'trace:        4bf92f3577b34da6a3ce929d0e0e4736 (accepting span 00f067aa0ba902b7)',
    );
    const lines = text.split('\n').filter((l) => /^\s+[12]\s/.test(l));
    expect(lines[0]).not.toContain('trace');
    expect(lines[1]).toMatch(/200 {2}trace 5b8efff798038103d269b633813fc60c$/);
    // A malformed stored context is shown as none, not half parsed.
    expect((await detail({ ...record, trace: { traceparent: '00-zz-1' } })).trace).toBeNull();
  });
});
