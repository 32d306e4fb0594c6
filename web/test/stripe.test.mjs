// Checkout with Stripe configured (the second node TestBrowser starts with
// PAYMENTS=stripe, its Stripe API being stripe-mock): the page loads
// Stripe.js on demand, mounts the card element and pays with the payment
// method id it makes; a decline releases the seats and "try again" holds
// them anew; a card asking for 3-D Secure is turned down plainly; a
// Stripe.js that cannot load leaves a clear error. js.stripe.com cannot be
// reached here, so page.route serves fakestripe.mjs in its place.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, apiAs, signIn, signUpAPI } from './helpers.mjs';
import { FAKE_STRIPE_JS } from './fakestripe.mjs';

const STRIPE_URL = process.env.BOXOFFICE_STRIPE_URL;
const EVENT = process.env.BOXOFFICE_STRIPE_EVENT;
let browser;
before(async () => {
  assert.ok(STRIPE_URL && EVENT, 'BOXOFFICE_STRIPE_URL and BOXOFFICE_STRIPE_EVENT are set by TestBrowser');
  browser = await launch();
});
after(async () => { await browser?.close(); });

// fanWithHold signs a fan up and holds the first available seat of the
// Stripe node's event through the API; it returns the fan, hold and seat.
async function fanWithHold(name) {
  const fan = await signUpAPI(name);
  const av = await (await fetch(`${STRIPE_URL}/api/events/${EVENT}/availability`)).json();
  const layout = await (await fetch(`${STRIPE_URL}/api/events/${EVENT}/seatmap`)).json();
  const idx = av.statuses.indexOf('a');
  assert.ok(idx >= 0, 'an available seat');
  const hold = await apiAs(fan.token, 'POST', `/api/events/${EVENT}/holds`, { seat_ids: [layout.seats[idx].id] });
  assert.equal(hold.status, 201, JSON.stringify(hold.body));
  return { fan, hold: hold.body, idx };
}

// waitSeat waits up to 5 s for seat idx to show state want: the
// availability snapshot is cached for about a second per node.
async function waitSeat(idx, want) {
  let got;
  for (const end = Date.now() + 5000; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) {
    const av = await (await fetch(`${STRIPE_URL}/api/events/${EVENT}/availability`)).json();
    if ((got = av.statuses[idx]) === want) return;
  }
  assert.equal(got, want, `seat ${idx}`);
}

// stripePage opens a signed-in page on the Stripe node whose requests to
// js.stripe.com get the fake Stripe.js, or fail when broken is set.
async function stripePage(fan, { broken = false } = {}) {
  const page = await newPage(browser, undefined, STRIPE_URL);
  const asked = [];
  await page.route('https://js.stripe.com/v3/**', (route) => {
    asked.push(route.request().url());
    return broken ? route.abort('connectionrefused') : route.fulfill({ contentType: 'text/javascript', body: FAKE_STRIPE_JS });
  });
  page.stripeRequests = asked;
  await signIn(page, fan);
  return page;
}

test('stripe checkout: the card element pays, a card error keeps the seats, the order shows', async () => {
  const { fan, hold, idx } = await fanWithHold('stripe-fan');
  const page = await stripePage(fan);
  await page.goto(`/checkout/${hold.id}`);
  const card = page.getByLabel('Card number (Stripe)');
  await card.waitFor();
  assert.deepEqual(page.stripeRequests, ['https://js.stripe.com/v3/']);
  assert.deepEqual(await page.evaluate(() => window.__fakeStripe.keys), ['pk_test_boxoffice']);
  await page.getByText('Test cards (Stripe test mode)').waitFor();
  await page.shot('stripe-checkout');

  // Stripe.js refuses an incomplete number: nothing reaches the server and
  // the seats stay held.
  await card.fill('4242');
  await page.getByRole('button', { name: /^Pay / }).click();
  await page.getByText('Your card number is incomplete.').waitFor();
  assert.equal((await apiAs(fan.token, 'GET', `/api/holds/${hold.id}`)).body.status, 'active');

  await card.fill('4242 4242 4242 4242');
  await page.getByRole('button', { name: /^Pay / }).click();
  await page.waitForURL(/\/orders\//);
  await page.getByRole('heading', { name: 'Thank you!' }).waitFor();
  await page.getByText(/Row 1/).first().waitFor();
  await page.shot('stripe-order');
  assert.deepEqual(await page.evaluate(() => window.__fakeStripe.paymentMethods), ['pm_card_visa']);
  await waitSeat(idx, 's');
  page.assertClean();
});

test('stripe checkout: a decline releases the seats and "try again" holds them anew', async () => {
  const { fan, hold, idx } = await fanWithHold('stripe-declined');
  const page = await stripePage(fan);
  await page.goto(`/checkout/${hold.id}`);
  await page.getByLabel('Card number (Stripe)').fill('4000 0000 0000 0002');
  await page.getByRole('button', { name: /^Pay / }).click();
  await page.getByText(/Payment declined.*Your seats were released/).waitFor();
  await waitSeat(idx, 'a');
  assert.equal(await page.getByLabel('Card number (Stripe)').count(), 0, 'the card element is gone');
  await page.shot('stripe-declined');

  await page.getByRole('button', { name: 'Try to hold these seats again' }).click();
  await page.waitForURL((u) => u.pathname.startsWith('/checkout/') && !u.pathname.endsWith(hold.id));
  await page.getByLabel('Card number (Stripe)').waitFor();
  await waitSeat(idx, 'h');

  // A card that asks for 3-D Secure is declined plainly, seats released.
  await page.getByLabel('Card number (Stripe)').fill('4000 0027 6000 3184');
  await page.getByRole('button', { name: /^Pay / }).click();
  await page.getByText(/3-D Secure.*not support yet/).waitFor();
  await waitSeat(idx, 'a');
  page.assertClean();
});

test('stripe checkout: Stripe.js that cannot load leaves a clear error', async () => {
  const { fan, hold } = await fanWithHold('stripe-offline');
  const page = await stripePage(fan, { broken: true });
  await page.goto(`/checkout/${hold.id}`);
  await page.getByText(/card form could not be loaded from Stripe/).waitFor();
  await page.getByRole('button', { name: 'Reload' }).waitFor();
  await page.shot('stripe-unreachable');
  assert.equal((await apiAs(fan.token, 'GET', `/api/holds/${hold.id}`)).body.status, 'active', 'the seats stay held');
  // Not page.assertClean(): Chromium logs the refused script as a failed
  // resource, which is what this test is about.
});
