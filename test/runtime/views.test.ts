import { describe, expect, it } from 'vitest';
import { parseUrlTemplate } from '../../src/pipeline/url-template.ts';
import { templateText } from '../../src/runtime/views.ts';

/** How a route's target URL is shown by GET /routes and the console. */
describe('templateText', () => {
  it('is the template as written, once, without its query', () => {
    expect(templateText(parseUrlTemplate('http://127.0.0.1:8080/orders', []))).toBe(
      'http://127.0.0.1:8080/orders',
    );
    expect(templateText(parseUrlTemplate('https://api.example/{tenant}/x?key={query.k}', ['tenant']))).toBe(
      'https://api.example/{tenant}/x',
    );
    expect(templateText(parseUrlTemplate('https://files.example/api', [], true))).toBe(
      'https://files.example/api/*',
    );
  });
});
