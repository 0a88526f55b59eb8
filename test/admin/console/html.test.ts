import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeHtml, html, query, SafeHtml } from '../../../src/admin/console/html.ts';

/** The console's one escaping helper and its tagged template, over any text. */

const decode = (text: string) =>
  text
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&#96;', '`')
    .replaceAll('&amp;', '&');

describe('escapeHtml', () => {
  it('leaves no markup character and loses nothing', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const escaped = escapeHtml(text);
        expect(escaped).not.toMatch(/[<>"'`]/);
        // Every & starts one of the entities written.
        expect(escaped.replace(/&(amp|lt|gt|quot|#39|#96);/g, '')).not.toContain('&');
        expect(decode(escaped)).toBe(text);
      }),
    );
  });
});

describe('html``', () => {
  it('escapes every interpolated value, in text and in quoted attributes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string(), (a, b) => {
        const out = html`<p title="${a}">${b}</p>`.toString();
        const match = /^<p title="([^"]*)">([^<]*)<\/p>$/.exec(out);
        expect(match).not.toBeNull();
        expect(decode(match![1]!)).toBe(a);
        expect(decode(match![2]!)).toBe(b);
      }),
    );
  });

  it('inserts fragments it built as they are, lists joined, nothing for null, undefined and false', () => {
    const inner = html`<b>${'<i>'}</b>`;
    expect(html`<p>${inner}${[1, html`<br>`, '&']}${null}${undefined}${false}${0}</p>`.toString()).toBe(
      '<p><b>&lt;i&gt;</b>1<br>&amp;0</p>',
    );
  });

  it('a stored XSS payload stays text', () => {
    const payloads = [
      '<img src=x onerror=alert(1)>',
      '</script><script>alert(1)</script>',
      '"><svg onload=alert(1)>',
      "' autofocus onfocus='x",
    ];
    for (const payload of payloads) {
      const out = html`<td data-x="${payload}">${payload}</td>`.toString();
      expect(out).not.toMatch(/<(img|script|svg)/i);
      expect(out.match(/"/g)).toHaveLength(2);
    }
  });

  it('a SafeHtml cannot be made from text outside the template', () => {
    const Forge = SafeHtml as unknown as new (proof: symbol, text: string) => SafeHtml;
    expect(() => new Forge(Symbol('built by html'), '<script>')).toThrow(TypeError);
    // An object that looks like a fragment is text.
    const fake = { toString: () => '<script>' };
    expect(html`${fake}`.toString()).toBe('&lt;script&gt;');
  });

  it('query() encodes parameters and leaves empty ones out', () => {
    expect(query({ route: 'a b&c', status: '', after: undefined, limit: 5 })).toBe('?route=a+b%26c&limit=5');
    expect(query({})).toBe('');
  });
});
