// The box office page in a real browser: an admin sells the best three
// seats at the door for cash under a name, sees the tickets and prints
// them; the order carries the name and the counter payment.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, apiAs, asAdmin, ADMIN_TOKEN } from './helpers.mjs';

const EVENT = process.env.BOXOFFICE_EVENT;
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('box office: best three seats for cash, printed', async () => {
  const page = await newPage(browser);
  await asAdmin(page);
  await page.goto('/');
  await page.getByRole('link', { name: 'Box office' }).click();
  await page.getByRole('heading', { name: 'Box office' }).waitFor();
  await page.getByLabel('Event').selectOption(EVENT);
  await page.getByRole('button', { name: 'Sell' }).waitFor();
  await page.getByLabel('What').selectOption('best');
  await page.getByLabel('How many').fill('3');
  await page.getByLabel('Paid by').selectOption('cash');
  await page.getByLabel('Name on the tickets').fill('Walk-in Wilson');
  await page.getByRole('button', { name: 'Sell' }).click();
  await page.getByText(/^Sold 3 tickets for /).waitFor();
  await page.shot('boxoffice-sold');
  const orderID = await page.locator('[data-counter-order]').getAttribute('data-counter-order');

  const order = await apiAs(ADMIN_TOKEN, 'GET', `/api/admin/orders/${orderID}`);
  assert.equal(order.status, 200, JSON.stringify(order.body));
  assert.equal(order.body.tickets.length, 3);
  assert.ok(order.body.tickets.every((t) => t.holder_name === 'Walk-in Wilson'), 'the name is on every ticket');
  assert.deepEqual(order.body.payments.map((p) => [p.provider, p.method]), [['counter', 'cash']]);

  const href = await page.locator('[data-print]').getAttribute('href');
  const pdf = await page.request.get(href);
  assert.equal(pdf.status(), 200);
  assert.match(pdf.headers()['content-type'], /application\/pdf/);
  page.assertClean();
});
