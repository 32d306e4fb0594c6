// 3-D Secure in test mode (PAYMENTS=test, the main node): the
// authentication-required test card 4000 0027 6000 3184 sends the fan to
// the app's own challenge page while the seats stay held; Complete buys
// them, Fail brings the fan back to checkout with the seats held for
// another card, which pays. No Stripe anywhere.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, apiAs, signIn, signUpAPI, BASE } from './helpers.mjs';

const EVENT = process.env.BOXOFFICE_EVENT;
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// checkoutWith3DS holds a free seat for a new fan, opens checkout and pays
// with the authentication-required card; it returns the page on the
// challenge, the fan and the hold.
async function checkoutWith3DS(name) {
  const fan = await signUpAPI(name);
  const av = await (await fetch(`${BASE}/api/events/${EVENT}/availability`)).json();
  const layout = await (await fetch(`${BASE}/api/events/${EVENT}/seatmap`)).json();
  const idx = av.statuses.lastIndexOf('a');
  assert.ok(idx >= 0, 'an available seat');
  const hold = await apiAs(fan.token, 'POST', `/api/events/${EVENT}/holds`, { seat_ids: [layout.seats[idx].id] });
  assert.equal(hold.status, 201, JSON.stringify(hold.body));
  const page = await newPage(browser);
  await signIn(page, fan);
  await page.goto(`/checkout/${hold.body.id}`);
  await page.getByLabel('Card number').fill('4000 0027 6000 3184');
  await page.getByRole('button', { name: /^Pay / }).click();
  await page.waitForURL(/\/payments\/[0-9a-f-]+\/challenge$/);
  await page.getByRole('heading', { name: 'Verify your card' }).waitFor();
  assert.equal((await apiAs(fan.token, 'GET', `/api/holds/${hold.body.id}`)).body.status, 'payment_pending', 'held while authenticating');
  return { page, fan, hold: hold.body };
}

test('test mode 3-D Secure: the challenge page completes a purchase', async () => {
  const { page } = await checkoutWith3DS('threeds-ok');
  await page.shot('threeds-challenge');
  await page.getByRole('button', { name: 'Complete authentication' }).click();
  await page.waitForURL(/\/orders\//);
  await page.getByRole('heading', { name: 'Thank you!' }).waitFor();
  page.assertClean();
});

test('test mode 3-D Secure: a failed challenge keeps the seats for another card', async () => {
  const { page, fan, hold } = await checkoutWith3DS('threeds-fail');
  await page.getByRole('button', { name: 'Fail authentication' }).click();
  await page.waitForURL((u) => u.pathname === `/checkout/${hold.id}`);
  await page.getByText(/Payment declined \(the card could not be verified\).*Your seats stay held for/).waitFor();
  await page.shot('threeds-failed');
  assert.equal((await apiAs(fan.token, 'GET', `/api/holds/${hold.id}`)).body.status, 'payment_pending');
  await page.getByLabel('Card number').fill('4242 4242 4242 4242');
  await page.getByRole('button', { name: /^Pay / }).click();
  await page.waitForURL(/\/orders\//);
  await page.getByRole('heading', { name: 'Thank you!' }).waitFor();
  page.assertClean();
});
