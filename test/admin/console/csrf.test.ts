import type { IncomingMessage } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COOKIE, cookieValue, createSessions, SESSION_MS } from '../../../src/admin/console/csrf.ts';

/** Sessions and CSRF tokens: bound to one process' secret, one session, one configured token. */

const withCookie = (setCookie: string) =>
  ({ headers: { cookie: `other=1; ${setCookie.split(';', 1)[0]}` } }) as unknown as IncomingMessage;

describe('console sessions', () => {
  const now = 1_800_000_000_000;

  it('issues an HttpOnly, SameSite=Strict cookie scoped to /console that reads back', () => {
    const sessions = createSessions({ token: 'tok' });
    const { session, cookie } = sessions.issue('t', now);
    expect(cookie).toMatch(new RegExp(`^${COOKIE}=v1\\.`));
    expect(cookie).toContain('; Path=/console; HttpOnly; SameSite=Strict; Max-Age=28800');
    expect(sessions.read(withCookie(cookie), now)).toEqual(session);
    expect(sessions.read(withCookie(cookie), now + SESSION_MS)).toBeUndefined();
  });

  it('refuses a tampered cookie, another process’ cookie, and a cookie made under another token', () => {
    const sessions = createSessions({ token: 'tok' });
    const { cookie } = sessions.issue('l', now);
    const value = cookie.split(';', 1)[0]!;
    const upgraded = value.replace('.l.', '.t.');
    expect(sessions.read(withCookie(upgraded), now)).toBeUndefined();
    const later = value.replace(/\.(\d+)\./, (_m, n: string) => `.${Number(n) + 1000}.`);
    expect(sessions.read(withCookie(later), now)).toBeUndefined();
    expect(createSessions({ token: 'tok' }).read(withCookie(cookie), now)).toBeUndefined();
    const secret = Buffer.alloc(32, 7);
    const a = createSessions({ token: 'tok', secret }).issue('t', now).cookie;
    expect(createSessions({ token: 'tok', secret }).read(withCookie(a), now)).toBeDefined();
    expect(createSessions({ token: 'rotated', secret }).read(withCookie(a), now)).toBeUndefined();
    // An anonymous (token-less) session is none once a token is configured.
    const anon = createSessions({ secret }).issue('n', now).cookie;
    expect(createSessions({ token: 'tok', secret }).read(withCookie(anon), now)).toBeUndefined();
  });

  it('a CSRF token is valid for its session only', () => {
    const sessions = createSessions({});
    const one = sessions.issue('n', now).session;
    const two = sessions.issue('n', now).session;
    const token = sessions.csrfToken(one);
    expect(sessions.csrfValid(one, token)).toBe(true);
    expect(sessions.csrfValid(two, token)).toBe(false);
    expect(sessions.csrfValid(one, undefined)).toBe(false);
    fc.assert(fc.property(fc.string(), (guess) => guess === token || !sessions.csrfValid(one, guess)));
  });

  it('checks the admin token, never accepting one when none is configured', () => {
    expect(createSessions({ token: 'secret-token' }).tokenValid('secret-token')).toBe(true);
    expect(createSessions({ token: 'secret-token' }).tokenValid('secret-toke')).toBe(false);
    expect(createSessions({}).tokenValid('')).toBe(false);
  });

  it('reads a cookie among others, and nothing from garbage', () => {
    expect(cookieValue('a=1; hookrelay_console=x.y; b=2', COOKIE)).toBe('x.y');
    expect(cookieValue(undefined, COOKIE)).toBeUndefined();
    fc.assert(
      fc.property(fc.string(), (header) => {
        const sessions = createSessions({});
        expect(
          sessions.read({ headers: { cookie: header } } as unknown as IncomingMessage, now),
        ).toBeUndefined();
      }),
    );
  });
});
