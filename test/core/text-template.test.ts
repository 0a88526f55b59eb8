import { describe, expect, it } from 'vitest';
import { compileTemplate, renderTemplate, requestScope } from '../../src/core/text-template.ts';

const request = {
  query: new URLSearchParams('source=erp'),
  params: { tenant: 'acme' },
  headers: { 'x-erp-system': 'sap' },
  method: 'POST',
  path: '/hooks/acme',
  requestId: 'req-1',
};

describe('requestScope', () => {
  it('works the body out on first use only, and never when no template reads it', () => {
    let parses = 0;
    const scope = requestScope(request, () => {
      parses += 1;
      return { order: { id: 42 } };
    });
    const noBody = compileTemplate('{{ params.tenant }} {{ query.source }} {{ headers.x-erp-system }}');
    expect(renderTemplate(noBody, scope)).toBe('acme erp sap');
    expect(parses).toBe(0);
    const withBody = compileTemplate('order {{ body.order.id }} ({{ method }} {{ path }} {{ requestId }})');
    expect(renderTemplate(withBody, scope)).toBe('order 42 (POST /hooks/acme req-1)');
    expect(renderTemplate(withBody, scope)).toBe('order 42 (POST /hooks/acme req-1)');
    expect(parses).toBe(1);
  });

  it('keeps an undefined body as worked out, without asking again', () => {
    let parses = 0;
    const scope = requestScope(request, () => {
      parses += 1;
      return undefined;
    });
    expect(scope.body()).toBeUndefined();
    expect(scope.body()).toBeUndefined();
    expect(parses).toBe(1);
  });
});
