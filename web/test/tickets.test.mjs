// After the purchase in a real browser: a fan's ticket shows its rotating
// QR code under My tickets, the fan lists it for resale there, the seat
// turns resale on another fan's map, and clicking it offers the listing and
// holds it on to checkout. Staff admit a ticket on the scan page once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, apiAs, signIn, signUpAPI, BASE } from './helpers.mjs';

const EVENT = process.env.BOXOFFICE_EVENT;
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// buySeat buys the last available seat through the API, as a script
// would, and returns its idx and the ticket id.
async function buySeat(fan) {
  const av = await (await fetch(`${BASE}/api/events/${EVENT}/availability`)).json();
  const layout = await (await fetch(`${BASE}/api/events/${EVENT}/seatmap`)).json();
  const idx = av.statuses.lastIndexOf('a');
  assert.ok(idx >= 0, 'an available seat');
  const hold = await apiAs(fan.token, 'POST', `/api/events/${EVENT}/holds`, { seat_ids: [layout.seats[idx].id] });
  assert.equal(hold.status, 201);
  const pay = await apiAs(fan.token, 'POST', `/api/holds/${hold.body.id}/checkout`);
  const paid = await apiAs(fan.token, 'POST', `/api/payments/${pay.body.payment.id}/confirm`, { card_number: '4242424242424242' });
  assert.equal(paid.body.status, 'succeeded');
  const order = await apiAs(fan.token, 'GET', `/api/orders/${paid.body.order_id}`);
  return { idx, ticket: order.body.tickets[0].id };
}

test('my tickets: QR code, sell on resale; another fan buys it from the map', async () => {
  const seller = await signUpAPI('seller');
  const { idx } = await buySeat(seller);

  const page = await newPage(browser);
  await signIn(page, seller);
  await page.goto('/tickets');
  await page.locator('img.qr').waitFor();
  await page.shot('tickets-qr');
  await page.getByText('Sell on resale').click();
  await page.getByRole('button', { name: 'List ticket' }).click();
  await page.getByText(/Listed at/).waitFor();
  assert.equal(await page.locator('img.qr').count(), 0, 'no entry code while listed');
  page.assertClean();

  const buyer = await signUpAPI('buyer');
  const page2 = await newPage(browser);
  await signIn(page2, buyer);
  await page2.goto(`/events/${EVENT}`);
  await page2.waitForFunction((i) => window.__boxoffice && window.__boxoffice.view.stateOf(i) === 'x', idx, { timeout: 10000 });
  await page2.evaluate((i) => { const { view } = window.__boxoffice; const p = view.screenOf(i); view.zoomAt(8, p.x, p.y); }, idx);
  await page2.waitForTimeout(100);
  const p = await page2.evaluate((i) => window.__boxoffice.view.screenOf(i), idx);
  await page2.locator('canvas[role=application]').click({ position: { x: p.x, y: p.y } });
  await page2.getByRole('button', { name: /^Buy for / }).click();
  await page2.waitForURL(/\/checkout\//);
  await page2.shot('resale-checkout');
  page2.assertClean();
});

test('scan page: a code admits once', async () => {
  const fan = await signUpAPI('fan');
  const { ticket } = await buySeat(fan);
  const code = (await apiAs(fan.token, 'GET', `/api/tickets/${ticket}/code`)).body.code;
  const page = await newPage(browser);
  await signIn(page, { email: process.env.BOXOFFICE_SCANNER_EMAIL });
  await page.goto('/scan');
  await page.getByLabel('Event').selectOption(EVENT);
  await page.getByLabel('Entrance', { exact: true }).fill('Gate 3');
  await page.getByLabel('Ticket code').fill(code);
  await page.getByRole('button', { name: 'Check in' }).click();
  await page.getByText('✓ Admitted').waitFor();
  await page.getByText(/Section .* Row .* Seat/).waitFor();
  await page.shot('scan-admitted');
  page.assertClean();
  // The second scan is a 409, which Chromium logs as a failed resource.
  await page.getByLabel('Ticket code').fill(code + ' ');
  await page.getByRole('button', { name: 'Check in' }).click();
  await page.getByText('✗ Already checked in').waitFor();
  await page.getByText(/^Checked in at /).waitFor();
});
