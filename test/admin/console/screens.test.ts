import { afterEach, describe, expect, it } from 'vitest';
import { type ConsoleHarness, newDelivery, putDead, startConsole } from './harness.ts';

/** Each console screen's HTML over a real admin listener (no browser): content, escaping, actions. */

let harness: ConsoleHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

interface Page {
  status: number;
  headers: Headers;
  text: string;
}

/** A browser-like client: keeps the console's cookie, follows no redirect by itself. */
function client(base: string) {
  let cookie = '';
  const keep = (res: Response) => {
    const set = res.headers.getSetCookie().find((c) => c.startsWith('hookrelay_console='));
    if (set) cookie = set.split(';', 1)[0]!;
  };
  return {
    get cookie() {
      return cookie;
    },
    async get(path: string, headers: Record<string, string> = {}): Promise<Page> {
      const res = await fetch(base + path, {
        headers: { ...(cookie ? { cookie } : {}), ...headers },
        redirect: 'manual',
      });
      keep(res);
      return { status: res.status, headers: res.headers, text: await res.text() };
    },
    async post(
      path: string,
      form: Record<string, string | string[]>,
      headers: Record<string, string> = {},
    ): Promise<Page> {
      const body = new URLSearchParams();
      for (const [k, v] of Object.entries(form)) for (const one of [v].flat()) body.append(k, one);
      const res = await fetch(base + path, {
        method: 'POST',
        body,
        headers: { ...(cookie ? { cookie } : {}), ...headers },
        redirect: 'manual',
      });
      keep(res);
      return { status: res.status, headers: res.headers, text: await res.text() };
    },
  };
}

const csrfOf = (page: Page) => /name="csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? '';

describe('console screens', () => {
  it('GET / redirects to the console; every answer carries the security headers', async () => {
    harness = await startConsole();
    const c = client(harness.url);
    const root = await c.get('/');
    expect(root.status).toBe(303);
    expect(root.headers.get('location')).toBe('/console');
    const page = await c.get('/console');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    // No inline script or style anywhere.
    expect(page.text).not.toMatch(/<script>|<script(?![^>]*\bsrc=)|<style|\sstyle=|\son\w+=/i);
    const script = /<script src="([^"]+)"/.exec(page.text)![1]!;
    const js = await c.get(script);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toContain('text/javascript');
    expect(js.text).toContain('htmx');
    const css = await c.get(/<link rel="stylesheet" href="([^"]+)"/.exec(page.text)![1]!);
    expect(css.headers.get('content-type')).toContain('text/css');
  });

  it('routes: targets, mode, circuit, queue depth, config hash, and a reload that shows its report', async () => {
    harness = await startConsole();
    await putDead(harness.driver, newDelivery('orders', '{}'));
    await harness.driver.enqueue(newDelivery('orders', '{}', Date.now() - 5 * 60_000));
    const c = client(harness.url);
    const page = await c.get('/console');
    expect(page.text).toContain('<strong>orders</strong>');
    expect(page.text).toContain('status-open');
    expect(page.text).toContain('a'.repeat(64));
    expect(page.text).toMatch(/<a href="\/console\/deliveries\?route=orders&amp;status=dead">1<\/a>/);
    expect(page.text).toContain('5 min');
    // A secret value of the configuration in a target URL is redacted.
    expect(page.text).not.toContain('s3cr3t-value');
    expect(page.text).toContain('key=&lt;redacted&gt;');
    const reloaded = await c.post('/console/reload', { csrf: csrfOf(page) });
    expect(reloaded.status).toBe(200);
    expect(harness.reloads).toBe(1);
    expect(reloaded.text).toContain('Reload applied');
    expect(reloaded.text).toContain('Changed: orders');
  });

  it('a refused reload lists its errors, escaped and redacted', async () => {
    harness = await startConsole({ refuse: true });
    const c = client(harness.url);
    const page = await c.get('/console');
    const refused = await c.post('/console/reload', { csrf: csrfOf(page) });
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('Reload refused');
    expect(refused.text).toContain('&lt;b&gt;bad&lt;/b&gt; &lt;redacted&gt;');
  });

  it('deliveries: filtered by status, route, code and time, paginated, a fragment for htmx', async () => {
    harness = await startConsole();
    const t0 = Date.parse('2026-11-01T10:00:00Z');
    for (let i = 0; i < 5; i++)
      await putDead(harness.driver, newDelivery('orders', `{"n":${i}}`, t0 + i * 60_000));
    await putDead(
      harness.driver,
      newDelivery('orders', '{}', t0 + 10 * 60_000),
      'HOOKRELAY_ERR_UPSTREAM_UNREACHABLE',
    );
    await harness.driver.enqueue(newDelivery('other', '{}', t0));
    const c = client(harness.url);
    const dead = await c.get('/console/deliveries?status=dead&limit=2');
    expect(dead.text).toContain('<h2>Dead letters</h2>');
    expect(dead.text).toContain('6 matching, showing 2');
    expect(dead.text).toContain('Replay all 6 matching');
    const next = /href="(\/console\/deliveries\?[^"]*after=[^"]+)"/
      .exec(dead.text)![1]!
      .replaceAll('&amp;', '&');
    const second = await c.get(next);
    expect(second.text).toContain('showing 2');
    const code = await c.get('/console/deliveries?status=dead&code=HOOKRELAY_ERR_UPSTREAM_UNREACHABLE');
    expect(code.text).toContain('1 matching');
    const range = await c.get('/console/deliveries?since=2026-11-01T10:01&until=2026-11-01T10:03');
    expect(range.text).toContain('2 matching');
    const route = await c.get('/console/deliveries?route=other');
    expect(route.text).toContain('1 matching');
    expect(route.text).not.toContain('Replay all');
    const hx = { 'hx-request': 'true', 'hx-target': 'results' };
    const fragment = await c.get('/console/deliveries?route=&status=dead&code=&since=&until=&limit=50', hx);
    expect(fragment.text.startsWith('<section id="results">')).toBe(true);
    // The address bar gets the filter without the empty fields the form sent.
    expect(fragment.headers.get('hx-push-url')).toBe('/console/deliveries?status=dead');
    const refused = await c.get('/console/deliveries?since=yesterday', hx);
    expect(refused.status).toBe(400);
    expect(refused.text).toMatch(/^<section id="results"><p class="notice bad"/);
    expect((await c.get('/console/deliveries?lastStatus=500')).text).toContain('0 matching');
    expect((await c.get('/console/deliveries?lastStatus=5000')).status).toBe(400);
    // An age counts back from now: all of these were accepted in 2026-11.
    expect((await c.get('/console/deliveries?since=1h')).text).toContain('0 matching');
    const bad = await c.get('/console/deliveries?status=nope');
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('HOOKRELAY_ERR_ADMIN_BAD_REQUEST');
  });

  it('detail: attempts with codes, headers redacted as the API does, the body as text', async () => {
    harness = await startConsole();
    const payload = '<img src=x onerror=alert(1)></script><script>alert(2)</script> s3cr3t-value';
    const id = await putDead(
      harness.driver,
      {
        ...newDelivery('orders', payload, Date.now(), { 'x-api-key': 'caller-key' }),
        trace: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
      },
      'HOOKRELAY_ERR_UPSTREAM_TIMEOUT',
      { traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174' },
    );
    const c = client(harness.url);
    const page = await c.get(`/console/deliveries/${id}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('HOOKRELAY_ERR_UPSTREAM_TIMEOUT');
    expect(page.text).toContain('target timed out');
    // The accepting request's trace, and the attempt's own, to look up in the tracing system.
    expect(page.text).toMatch(/<dt>Trace<\/dt><dd><code>4bf92f3577b34da6a3ce929d0e0e4736<\/code>/);
    expect(page.text).toContain('<td><code>5b8efff798038103d269b633813fc60c</code></td>');
    expect(page.text).toContain(
      '&lt;img src=x onerror=alert(1)&gt;&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt; &lt;redacted&gt;',
    );
    expect(page.text).not.toContain('caller-key');
    expect(page.text).not.toContain('s3cr3t-value');
    expect((await c.get('/console/deliveries/nope')).status).toBe(404);
  });

  it('replays one at once, and a selection or every match only after a confirm step with the count', async () => {
    harness = await startConsole();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++)
      ids.push(await putDead(harness.driver, newDelivery('orders', '{}', Date.now() - 1000 + i)));
    const c = client(harness.url);
    const csrf = csrfOf(await c.get('/console/deliveries?status=dead'));
    const one = await c.post('/console/replay', { csrf, only: ids[0]! });
    expect(one.status).toBe(303);
    expect(one.headers.get('location')).toBe(`/console/deliveries/${ids[0]}?replayed=1`);
    expect((await harness.driver.get(ids[0]!))!.record.status).toBe('pending');
    expect(harness.replays).toEqual([['orders']]);

    const ask = await c.post('/console/replay', {
      csrf,
      status: 'dead',
      scope: 'selected',
      id: [ids[1]!, ids[2]!],
    });
    expect(ask.text).toContain('Replay 2 deliveries?');
    expect((await harness.driver.get(ids[1]!))!.record.status).toBe('dead');
    const done = await c.post('/console/replay', {
      csrf,
      status: 'dead',
      scope: 'selected',
      id: [ids[1]!, ids[2]!],
      confirm: 'yes',
    });
    expect(done.text).toContain('replayed 2 deliveries');

    await putDead(harness.driver, newDelivery('orders', '{}'));
    const matching = await c.post('/console/replay', {
      csrf,
      status: 'dead',
      route: 'orders',
      scope: 'matching',
    });
    expect(matching.text).toContain('Replay 2 deliveries?');
    const fields = Object.fromEntries(
      [...matching.text.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)">/g)].map((m) => [
        m[1]!,
        m[2]!,
      ]),
    );
    // One more dead letter after the confirm step is not replayed by it.
    const late = await putDead(harness.driver, newDelivery('orders', '{}', Date.now() + 5000));
    const all = await c.post('/console/replay', { ...fields, confirm: 'yes' });
    expect(all.text).toContain('replayed 2 deliveries');
    expect((await harness.driver.get(late))!.record.status).toBe('dead');
  });

  it('purges finished deliveries older than an age after a confirm step', async () => {
    harness = await startConsole();
    await putDead(harness.driver, newDelivery('orders', '{}'));
    await putDead(harness.driver, newDelivery('orders', '{}'));
    const c = client(harness.url);
    const form = await c.get('/console/purge');
    const csrf = csrfOf(form);
    const ask = await c.post('/console/purge', { csrf, status: 'dead', route: '', olderThan: '0ms' });
    expect(ask.text).toContain('Purge 2 deliveries?');
    expect(await harness.driver.count({ status: 'dead' })).toBe(2);
    const fields = Object.fromEntries(
      [...ask.text.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)">/g)].map((m) => [
        m[1]!,
        m[2]!,
      ]),
    );
    const done = await c.post('/console/purge', { ...fields, confirm: 'yes' });
    expect(done.text).toContain('purged 2 deliveries');
    expect(await harness.driver.count({ status: 'dead' })).toBe(0);
    const bad = await c.post('/console/purge', { csrf, status: 'pending', olderThan: '1d' });
    expect(bad.status).toBe(400);
  });

  it('refuses a POST without the session cookie or with another token, and a non-form body', async () => {
    harness = await startConsole();
    const c = client(harness.url);
    const csrf = csrfOf(await c.get('/console'));
    const other = client(harness.url);
    await other.get('/console');
    const crossed = await other.post('/console/reload', { csrf });
    expect(crossed.status).toBe(403);
    expect(crossed.text).toContain('HOOKRELAY_ERR_ADMIN_CSRF');
    const anonymous = await fetch(`${harness.url}/console/reload`, {
      method: 'POST',
      body: new URLSearchParams({ csrf }),
    });
    expect(anonymous.status).toBe(403);
    const json = await fetch(`${harness.url}/console/reload`, {
      method: 'POST',
      headers: { cookie: c.cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ csrf }),
    });
    expect(json.status).toBe(415);
    expect(await json.text()).toContain('HOOKRELAY_ERR_ADMIN_FORM_EXPECTED');
    const big = await c.post('/console/reload', { csrf, pad: 'x'.repeat(70_000) });
    expect(big.status).toBe(415);
    expect(harness.reloads).toBe(0);
    // The API still takes JSON only, and the console's cookie is no substitute for its rules.
    const api = await fetch(`${harness.url}/reload`, {
      method: 'POST',
      headers: { cookie: c.cookie },
      body: new URLSearchParams({ csrf }),
    });
    expect(api.status).toBe(415);
  });

  it('with a token: a login form, a session cookie instead of the bearer header, the API still needs the header', async () => {
    harness = await startConsole({ token: 'admin-token-0123456789' });
    const c = client(harness.url);
    const first = await c.get('/console/deliveries');
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/console/login');
    // htmx asking for the table is sent to the login page as a whole navigation.
    const table = await c.get('/console/deliveries', { 'hx-request': 'true', 'hx-target': 'results' });
    expect(table.status).toBe(204);
    expect(table.headers.get('hx-redirect')).toBe('/console/login');
    const login = await c.get('/console/login');
    expect(login.status).toBe(200);
    expect(login.text).toContain('type="password"');
    const wrong = await c.post('/console/login', { csrf: csrfOf(login), token: 'guess' });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('That is not the admin token.');
    const noCsrf = await c.post('/console/login', { token: 'admin-token-0123456789' });
    expect(noCsrf.status).toBe(403);
    const ok = await c.post('/console/login', { csrf: csrfOf(login), token: 'admin-token-0123456789' });
    expect(ok.status).toBe(303);
    expect(ok.headers.getSetCookie()[0]).toMatch(/HttpOnly; SameSite=Strict; Max-Age=28800$/);
    const page = await c.get('/console');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Log out');
    const api = await fetch(`${harness.url}/queue/stats`, { headers: { cookie: c.cookie } });
    expect(api.status).toBe(401);
    const bearer = await fetch(`${harness.url}/console`, {
      headers: { authorization: 'Bearer admin-token-0123456789' },
    });
    expect(bearer.status).toBe(200);
    const kept = c.cookie;
    const out = await c.post('/console/logout', { csrf: csrfOf(page) });
    expect(out.headers.getSetCookie()[0]).toContain('Max-Age=0');
    expect((await c.get('/console')).status).toBe(303);
    // A copy of the ended session's cookie is refused too.
    const replayed = await fetch(`${harness.url}/console`, { headers: { cookie: kept }, redirect: 'manual' });
    expect(replayed.status).toBe(303);
  });

  it('without a token there is no login', async () => {
    harness = await startConsole();
    const c = client(harness.url);
    const login = await c.get('/console/login');
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/console');
    const page = await c.get('/console');
    expect(page.text).not.toContain('Log out');
  });

  it('the host guard comes first', async () => {
    harness = await startConsole();
    const res = await fetch(`${harness.url}/console`, { headers: { origin: 'http://evil.example' } });
    expect(res.status).toBe(403);
  });
});
