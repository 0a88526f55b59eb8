/**
 * Takes the screenshots of docs/console.md (docs/images/console-*.png): starts a relay with
 * example data (test/admin/console/relay.ts: an async route whose target refuses, then accepts),
 * opens the console in a local headless Chromium through puppeteer-core, and saves the routes,
 * the dead letters, one delivery's detail and the confirm step of a bulk replay, 1200 px wide.
 *
 *   node_modules/.bin/node scripts/screenshots.ts    (CHROMIUM_PATH names another browser)
 */
import { mkdirSync } from 'node:fs';
import puppeteer from 'puppeteer-core';
import { CHROMIUM_ARGS, findChromium, startRelay } from '../test/admin/console/relay.ts';

const OUT = new URL('../docs/images/', import.meta.url);

const chromium = findChromium();
if (!chromium) {
  console.error('screenshots: no Chromium found; set CHROMIUM_PATH');
  process.exit(1);
}

const relay = await startRelay();
try {
  // A few delivered, then the target goes down: dead letters on two routes.
  relay.target.accept = true;
  for (let i = 1; i <= 3; i++)
    await relay.send('/in/orders', JSON.stringify({ orderId: 4100 + i, total: 19.9 * i }));
  await relay.waitFor('delivered', 3);
  relay.target.accept = false;
  const erp = {
    'user-agent': 'legacy-erp/7.2',
    'x-api-key': 'caller-key-not-shown',
    'x-erp-batch': 'B-2026-12-03',
  };
  for (let i = 4; i <= 9; i++) {
    await relay.send(
      '/in/orders',
      JSON.stringify({
        orderId: 4100 + i,
        customer: { id: `C-${700 + i}`, name: 'Ada Lovelace' },
        lines: [{ sku: 'KB-01', qty: i }],
      }),
      erp,
    );
  }
  await relay.send(
    '/in/invoices',
    JSON.stringify({ invoice: 'INV-2026-0042', amount: 1250, currency: 'EUR' }),
  );
  await relay.waitFor('dead', 7);

  const browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 760 });
    mkdirSync(OUT, { recursive: true });
    const shot = (name: string) =>
      page.screenshot({
        path: new URL(`console-${name}.png`, OUT).pathname as `${string}.png`,
        fullPage: false,
      });

    await page.goto(`${relay.adminUrl}/console`);
    await shot('routes');

    await page.goto(`${relay.adminUrl}/console/deliveries?status=dead`);
    await page.click('#deliveries tbody tr:nth-child(2) input[type="checkbox"]');
    await page.click('#deliveries tbody tr:nth-child(3) input[type="checkbox"]');
    await shot('dead');

    const id = (await page.evaluate(`document.querySelector('#deliveries tbody tr').dataset.id`)) as string;
    await page.goto(`${relay.adminUrl}/console/deliveries/${id}`);
    await page.setViewport({ width: 1200, height: 1100 });
    await shot('detail');
    await page.setViewport({ width: 1200, height: 760 });

    await page.goto(`${relay.adminUrl}/console/deliveries?status=dead&route=orders`);
    await Promise.all([page.waitForNavigation(), page.click('button[name="scope"][value="matching"]')]);
    await shot('confirm');
  } finally {
    await browser.close();
  }
  console.log(`screenshots written to ${OUT.pathname}`);
} finally {
  await relay.close();
}
