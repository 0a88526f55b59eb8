import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, findChromium, type Relay, startRelay } from './console/relay.ts';

/**
 * The console in a real browser (headless Chromium through puppeteer-core) against a real relay:
 * dead letters filtered, replayed one by one and after the confirm step, a stored XSS payload shown
 * as text, the CSP without violations, the login, and a cross-site form refused.
 * Without Chromium the file is skipped outside CI and fails under CI=true.
 */

const chromium = findChromium();
if (!chromium && process.env.CI === 'true')
  throw new Error('no Chromium found (set CHROMIUM_PATH): the console browser tests cannot run');
if (!chromium) console.warn('console browser tests skipped: no Chromium found (set CHROMIUM_PATH)');

const XSS_IMG = '<img src=x onerror="document.title=\'pwned\'">';
const XSS_SCRIPT = '</script><script>document.title="pwned"</script>';

let browser: Browser | undefined;
let relay: Relay | undefined;

beforeAll(async () => {
  if (chromium)
    browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: CHROMIUM_ARGS });
}, 60_000);
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

interface Watched {
  page: Page;
  dialogs: string[];
  violations: string[];
}

/** A page that records dialogs and CSP violations (reported to the page and to its console). */
async function watched(): Promise<Watched> {
  const page = await browser!.newPage();
  await page.setViewport({ width: 1200, height: 900 });
  const dialogs: string[] = [];
  const violations: string[] = [];
  page.on('dialog', async (dialog) => {
    dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  await page.exposeFunction('__violation', (directive: string) => violations.push(directive));
  await page.evaluateOnNewDocument(
    "document.addEventListener('securitypolicyviolation', (e) => window.__violation(e.violatedDirective + ' ' + e.blockedURI))",
  );
  return { page, dialogs, violations };
}

/** Page-side code is passed as text: the tests are type-checked without the DOM library. */
const text = (page: Page, selector: string) =>
  page.evaluate(`document.querySelector(${JSON.stringify(selector)}).innerText`) as Promise<string>;
const bodyText = (page: Page) => page.evaluate('document.body.innerText') as Promise<string>;

describe.skipIf(!chromium)('admin console in a browser', () => {
  it('dead letters: filter, a stored XSS payload as text, replay one, replay the rest after the confirm step', async () => {
    relay = await startRelay();
    expect(await relay.send('/in/orders', JSON.stringify({ note: XSS_IMG, tail: XSS_SCRIPT }))).toBe(202);
    expect(await relay.send('/in/orders', '{"order":2}')).toBe(202);
    expect(await relay.send('/in/orders', '{"order":3}')).toBe(202);
    expect(await relay.send('/in/invoices', '{"invoice":1}')).toBe(202);
    await relay.waitFor('dead', 4);
    const { page, dialogs, violations } = await watched();

    const first = await page.goto(`${relay.adminUrl}/`);
    expect(page.url()).toBe(`${relay.adminUrl}/console`);
    expect(first!.headers()['content-security-policy']).toContain("script-src 'self'");
    expect(await page.title()).toContain('Routes');
    expect(await text(page, '#routes')).toMatch(/orders\s+async/);
    // Reload: the same file again, so unchanged.
    await Promise.all([page.waitForNavigation(), page.click('form[action="/console/reload"] button')]);
    expect(await text(page, '#reload-report')).toContain('Reload unchanged');

    // Dead letters of one route, filtered with htmx (the table is swapped, the URL pushed).
    await Promise.all([
      page.waitForNavigation(),
      page.click('nav a[href="/console/deliveries?status=dead"]'),
    ]);
    expect(await text(page, '#total')).toContain('4 matching');
    await page.type('#filters input[name="route"]', 'orders');
    await page.evaluate('window.__kept = true');
    await page.click('#filters button[type="submit"]');
    await page.waitForFunction("document.querySelector('#total')?.textContent?.includes('3 matching')");
    expect(page.url()).toBe(`${relay.adminUrl}/console/deliveries?route=orders&status=dead`);
    // Not a full page load: the window's state survived.
    expect(await page.evaluate('window.__kept')).toBe(true);

    // The delivery with the payload: its body is text, nothing was injected or run.
    const rows = await page.$$eval('#deliveries tbody tr', (trs) =>
      trs.map((tr) => tr.getAttribute('data-id')!),
    );
    expect(rows).toHaveLength(3);
    const xssId = rows[0]!;
    await Promise.all([page.waitForNavigation(), page.click(`a[href="/console/deliveries/${xssId}"]`)]);
    const body = await text(page, '#body');
    expect(body).toContain(JSON.stringify({ note: XSS_IMG, tail: XSS_SCRIPT }).slice(1, 40));
    expect(await bodyText(page)).toContain('<img src=x onerror=');
    expect(await bodyText(page)).toContain('</script><script>');
    expect(await page.$$('main img, main script, #body *')).toHaveLength(0);
    expect(await page.title()).not.toBe('pwned');
    expect(await text(page, '#attempts')).toContain('500');

    // Replay it: delivered, the detail shows the delivered attempt.
    relay.target.accept = true;
    await Promise.all([page.waitForNavigation(), page.click('button[name="only"]')]);
    expect(await text(page, '[role="status"]')).toContain('replayed 1 delivery');
    await relay.waitFor('delivered', 1);
    await page.reload();
    expect(await text(page, '#facts')).toContain('delivered');
    expect(await text(page, '#attempts')).toMatch(/\b200\b/);
    expect(relay.target.received[0]).toContain('onerror');

    // The other two of the route, after the confirm step with the count.
    await page.goto(`${relay.adminUrl}/console/deliveries?status=dead&route=orders`);
    expect(await text(page, '#total')).toContain('2 matching');
    await Promise.all([page.waitForNavigation(), page.click('button[name="scope"][value="matching"]')]);
    expect(await page.$eval('h2', (h) => h.textContent)).toBe('Replay 2 deliveries?');
    expect(await relay.driver.count({ status: 'dead' })).toBe(3);
    await Promise.all([page.waitForNavigation(), page.click('button[name="confirm"][value="yes"]')]);
    expect(await text(page, '#result')).toBe('replayed 2 deliveries');
    await relay.waitFor('delivered', 3);
    // The other route's dead letter was not part of the filter.
    expect(await relay.driver.count({ status: 'dead', routeId: 'invoices' })).toBe(1);

    expect(dialogs).toEqual([]);
    expect(violations).toEqual([]);
  }, 90_000);

  it('asks for the token when one is set, and keeps the session in a cookie', async () => {
    relay = await startRelay({ token: 'console-token-0123456789' });
    const { page, violations } = await watched();
    await page.goto(`${relay.adminUrl}/console`);
    expect(page.url()).toBe(`${relay.adminUrl}/console/login`);
    await page.type('input[name="token"]', 'wrong-token');
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    expect(await text(page, '#login-failed')).toContain('not the admin token');
    await page.type('input[name="token"]', 'console-token-0123456789');
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    expect(page.url()).toBe(`${relay.adminUrl}/console`);
    expect(await page.title()).toContain('Routes');
    const cookies = await browser!.cookies();
    const session = cookies.find((c) => c.name === 'hookrelay_console')!;
    expect(session.httpOnly).toBe(true);
    expect(session.sameSite).toBe('Strict');
    expect(session.path).toBe('/console');
    await Promise.all([page.waitForNavigation(), page.click('nav a[href="/console/deliveries"]')]);
    expect(await page.title()).toContain('Deliveries');
    // The API does not take the cookie.
    const api = await page.evaluate("fetch('/queue/stats').then((r) => r.status)");
    expect(api).toBe(401);
    await Promise.all([page.waitForNavigation(), page.click('header form button')]);
    expect(page.url()).toBe(`${relay.adminUrl}/console/login`);
    expect(violations).toEqual([]);
    await browser!.deleteCookie(...(await browser!.cookies()));
  }, 60_000);

  it('refuses a form posted to the console from a page of another site', async () => {
    relay = await startRelay();
    expect(await relay.send('/in/orders', '{"order":1}')).toBe(202);
    await relay.waitFor('dead', 1);
    const admin = relay.adminUrl;
    const evil: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<form id="f" method="post" action="${admin}/console/replay">
<input name="status" value="dead"><input name="scope" value="matching"><input name="confirm" value="yes">
<input name="pinnedUntil" value="${Date.now() + 60_000}"><input name="limit" value="100"><input name="csrf" value="guess">
</form><script>document.getElementById('f').submit()</script>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    try {
      const { page } = await watched();
      // Visit the console first, so the browser holds a session cookie the attack could ride on.
      await page.goto(`${admin}/console`);
      const port = (evil.address() as AddressInfo).port;
      await Promise.all([page.waitForNavigation(), page.goto(`http://localhost:${port}/`)]).catch(() => {});
      await page.waitForFunction("location.pathname === '/console/replay'", { timeout: 10_000 });
      expect(await bodyText(page)).toMatch(/HOOKRELAY_ERR_ADMIN_(CROSS_ORIGIN|CSRF)/);
      expect(await relay.driver.count({ status: 'dead' })).toBe(1);
    } finally {
      evil.closeAllConnections();
      await new Promise<void>((resolve) => evil.close(() => resolve()));
    }
  }, 60_000);
});
