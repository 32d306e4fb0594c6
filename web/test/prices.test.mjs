// All-in prices: an event with fees, tax and price types; the checkout
// shows each ticket's all-in price with its breakdown and the price-type
// choice, and the total shown is exactly what the payment processor was
// asked for (read back from the event's ledger through the API).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, apiAs, signIn, signUpAPI, BASE, ADMIN_TOKEN } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });


test('checkout: all-in total with breakdown and price types equals the amount charged', async () => {
  const admin = ADMIN_TOKEN;
  const seats = [1, 2, 3].map((n) => ({ section: 'A', row: '1', number: n, x: n * 10, y: 0, type: 'standard', rank: n }));
  const venue = await apiAs(admin, 'POST', '/api/admin/venues',
    { name: 'Fees Hall', layout: { sections: [{ id: 'A', name: 'Stalls', tier: 't', rank: 0 }], seats } });
  assert.equal(venue.status, 201, JSON.stringify(venue.body));
  const now = Date.now();
  const ev = await apiAs(admin, 'POST', '/api/admin/events', {
    venue_id: venue.body.id, name: `All-in Night ${now}`, event_date: new Date(now + 72 * 3600e3).toISOString(),
    sale_opens: new Date(now - 60e3).toISOString(), prices: { standard: 4505 }, reserve_share: 0,
    fees: { service_fee_bps: 1000, service_fee_cents: 150, facility_fee_cents: 200, tax_bps: 825, tax_included: false },
    price_types: [{ key: 'adult', name: 'Adult', percent: 100 }, { key: 'child', name: 'Child', percent: 50, condition: 'under 12 on the day' }],
  });
  assert.equal(ev.status, 201, JSON.stringify(ev.body));
  const eventId = ev.body.id;
  const layout = await (await fetch(`${BASE}/api/events/${eventId}/seatmap`)).json();

  const fan = await signUpAPI('allin');
  const hold = await apiAs(fan.token, 'POST', `/api/events/${eventId}/holds`, { seat_ids: [layout.seats[0].id, layout.seats[1].id] });
  assert.equal(hold.status, 201, JSON.stringify(hold.body));

  const page = await newPage(browser);
  await signIn(page, fan);
  await page.goto(`/checkout/${hold.body.id}`);
  const total = page.locator('.checkout-total');
  await total.waitFor();
  const shown = async () => Number(await total.getAttribute('data-cents'));
  // Two adults: 45.05 + 4.51 service + 1.50 + 2.00 facility + 3.72 tax = 56.78 each.
  assert.equal(await shown(), 2 * 5678);
  assert.match(await total.textContent(), /113\.56/);

  // One ticket becomes a child's: the total follows at once.
  await page.getByLabel(`Ticket type for seat ${layout.seats[1].number}`).selectOption('child');
  const expected = await shown();
  assert.ok(expected < 2 * 5678, `a child ticket costs less (${expected})`);
  await page.getByText('Child: under 12 on the day.').waitFor();

  // The breakdown is one click away.
  await page.getByText('What the total is made of').click();
  const dl = page.locator('details[open] dl.breakdown');
  await dl.getByText('Service fee').waitFor();
  await dl.getByText('Facility fee').waitFor();
  await dl.getByText('Tax', { exact: true }).waitFor();
  await page.shot('prices-checkout');

  const payBtn = page.getByRole('button', { name: /^Pay / });
  assert.match(await payBtn.textContent(), new RegExp((expected / 100).toFixed(2).replace('.', '\\.')));
  await page.getByLabel('Card number').fill('4242 4242 4242 4242');
  await payBtn.click();
  await page.waitForURL(/\/orders\//);
  const orderId = page.url().split('/orders/')[1];
  const order = await apiAs(fan.token, 'GET', `/api/orders/${orderId}`);
  assert.equal(order.status, 200);
  // The event's ledger lists the payment as taken: its gross is the
  // amount the intent was created and captured with (checkout refuses an
  // intent whose amount differs from the payment's).
  const ledger = await apiAs(admin, 'GET', `/api/admin/events/${eventId}/ledger`);
  const paid = ledger.body.entries.find((e) => e.kind === 'payment' && e.payment_id === order.body.payment_id);
  assert.ok(paid, JSON.stringify(ledger.body.entries));
  assert.equal(paid.gross_cents, expected, 'the processor was asked for the total the page showed');
  assert.equal(paid.status, 'succeeded');
  assert.equal(paid.ticket_fee_cents + paid.face_cents + (order.body.price_breakdown.tax_included ? 0 : paid.tax_cents), expected);
  assert.equal(ledger.body.balanced, true);
  assert.equal(order.body.total_cents, expected);
  assert.equal(order.body.price_breakdown.total_cents, expected);
  assert.deepEqual(order.body.tickets.map((t) => t.price_type).sort(), ['adult', 'child']);
  await page.getByTestId('order-status').getByText((expected / 100).toFixed(2), { exact: false }).waitFor();
  page.assertClean();
});
