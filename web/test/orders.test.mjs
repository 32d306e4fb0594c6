// The organizer's order tools in a real browser: an admin searches a fan's
// order by email, opens it, refunds one of its two tickets with a reason
// (the seat back on sale), sees the refund and the smaller refundable
// amount, and downloads the event's orders export, which names the fan.
// The event is its own, made here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { launch, newPage, apiAs, signUpAPI, asAdmin, ADMIN_TOKEN } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('orders: find an order, refund one ticket, download an export', async () => {
  const admin = ADMIN_TOKEN;
  const venue = await apiAs(admin, 'POST', '/api/admin/venues', { name: `Orders theater ${Date.now()}`, preset: 'theater' });
  assert.equal(venue.status, 201, JSON.stringify(venue.body));
  const ev = await apiAs(admin, 'POST', '/api/admin/events', {
    venue_id: venue.body.id, name: `Orders test ${Date.now()}`, prices: { default: 5000 }, reserve_share: 0,
    sale_opens: new Date(Date.now() - 60000).toISOString(), event_date: new Date(Date.now() + 86400000).toISOString(),
  });
  assert.equal(ev.status, 201, JSON.stringify(ev.body));
  const event = ev.body.id;

  // A fan buys two seats, as a script would.
  const fan = await signUpAPI('orders-fan');
  const hold = await apiAs(fan.token, 'POST', `/api/events/${event}/holds`, { best_available: { quantity: 2 } });
  assert.equal(hold.status, 201, JSON.stringify(hold.body));
  const pay = await apiAs(fan.token, 'POST', `/api/holds/${hold.body.id}/checkout`);
  const paid = await apiAs(fan.token, 'POST', `/api/payments/${pay.body.payment.id}/confirm`, { card_number: '4242424242424242' });
  assert.equal(paid.body.status, 'succeeded', JSON.stringify(paid.body));
  const order = paid.body.order_id;

  const page = await newPage(browser);
  await asAdmin(page);

  await page.goto('/admin/orders');
  await page.getByLabel('Search orders').fill(fan.email);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('link', { name: order.slice(0, 8) }).click();
  await page.getByRole('heading', { name: `Order ${order.slice(0, 8)}` }).waitFor();
  const total = Number(await page.locator('[data-refundable]').getAttribute('data-refundable'));
  assert.ok(total > 0, 'the order is refundable');

  await page.getByLabel(/^Refund /).first().check();
  await page.getByLabel('Reason').fill('Moved seats, "sorry"');
  await page.getByLabel('Put the refunded seats back on sale').check();
  await page.getByRole('button', { name: 'Refund' }).click();
  await page.waitForFunction((t) => Number(document.querySelector('[data-refundable]')?.dataset.refundable) === t / 2, total,
    { timeout: 10000 });
  await page.locator('[data-card="refunds"] td', { hasText: 'Moved seats, "sorry"' }).waitFor();
  assert.match(await page.locator('[data-order-status]').textContent(), /Paid/, 'a partial refund leaves the order paid');
  await page.shot('admin-order-refunded');

  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-export="orders"]').click()]);
  const csv = await readFile(await download.path(), 'utf8');
  assert.match(csv.split('\n')[0], /^order_id,created_at,status,buyer_email/);
  assert.ok(csv.includes(fan.email), 'the export names the fan');
  page.assertClean();
});
