// Checkout with Stripe configured (the second node TestBrowser starts with
// PAYMENTS=stripe, its Stripe API being stripe-mock behind
// testkit.StripeTestCards): the page loads Stripe.js on demand, mounts the
// Payment Element (deferred intent, manual capture) and pays with the
// payment method id it makes; a decline keeps the seats for another card,
// and giving up releases them; the authentication-required card goes
// through handleNextAction (complete: an order; fail: the seats wait for
// another card); a Stripe.js that cannot load leaves a clear error.
// js.stripe.com cannot be reached here, so page.route serves fakestripe.mjs
// in its place, and the fake's challenge answer goes to the proxy
// (BOXOFFICE_STRIPE_API) as Stripe's servers would record it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, apiAs, signIn, signUpAPI } from './helpers.mjs';
import { FAKE_STRIPE_JS } from './fakestripe.mjs';

const STRIPE_URL = process.env.BOXOFFICE_STRIPE_URL;
const EVENT = process.env.BOXOFFICE_STRIPE_EVENT;
const STRIPE_API = process.env.BOXOFFICE_STRIPE_API;
let browser;
before(async () => {
  assert.ok(STRIPE_URL && EVENT && STRIPE_API, 'BOXOFFICE_STRIPE_URL, _EVENT and _API are set by TestBrowser');
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
  // The bank's answer to the fake's 3-D Secure challenge, recorded on the
  // proxy's intent.
  await page.route('https://api.stripe.com/fake-3ds/**', async (route) => {
    const u = new URL(route.request().url());
    const res = await fetch(`${STRIPE_API}/testkit/authenticate/${u.searchParams.get('intent')}?result=${u.searchParams.get('result')}`, { method: 'POST' });
    return route.fulfill({ status: res.status, contentType: 'application/json', headers: { 'Access-Control-Allow-Origin': '*' }, body: await res.text() });
  });
  page.stripeRequests = asked;
  await signIn(page, fan);
  return page;
}

test('stripe checkout: the payment element pays, a card error keeps the seats, the order shows', async () => {
  const { fan, hold, idx } = await fanWithHold('stripe-fan');
  const page = await stripePage(fan);
  await page.goto(`/checkout/${hold.id}`);
  const card = page.getByLabel('Card number (Stripe)');
  await card.waitFor();
  assert.deepEqual(page.stripeRequests, ['https://js.stripe.com/v3/']);
  assert.deepEqual(await page.evaluate(() => window.__fakeStripe.keys), ['pk_test_boxoffice']);
  const [opts] = await page.evaluate(() => window.__fakeStripe.options);
  assert.equal(opts.captureMethod, 'manual');
  assert.equal(opts.paymentMethodCreation, 'manual');
  assert.equal(opts.amount, Number(await page.locator('.checkout-total').getAttribute('data-cents')));
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

test('stripe checkout: a decline keeps the seats for another card; giving up releases them', async () => {
  const { fan, hold, idx } = await fanWithHold('stripe-declined');
  const page = await stripePage(fan);
  await page.goto(`/checkout/${hold.id}`);
  const card = page.getByLabel('Card number (Stripe)');
  await card.fill('4000 0000 0000 0002');
  await page.getByRole('button', { name: /^Pay / }).click();
  await page.getByText(/Payment declined.*Your seats stay held for/).waitFor();
  assert.equal((await apiAs(fan.token, 'GET', `/api/holds/${hold.id}`)).body.status, 'payment_pending', 'the seats stay held');
  await page.shot('stripe-declined-retry');

  // Another card within the window pays: one order.
  await card.fill('4242 4242 4242 4242');
  await page.getByRole('button', { name: /^Pay / }).click();
  await page.waitForURL(/\/orders\//);
  await waitSeat(idx, 's');
  assert.deepEqual(await page.evaluate(() => window.__fakeStripe.paymentMethods), ['pm_card_chargeDeclined', 'pm_card_visa']);

  // A second fan declines and gives up: the seats are free at once.
  const second = await fanWithHold('stripe-gives-up');
  const page2 = await stripePage(second.fan);
  await page2.goto(`/checkout/${second.hold.id}`);
  await page2.getByLabel('Card number (Stripe)').fill('4000 0000 0000 9995');
  await page2.getByRole('button', { name: /^Pay / }).click();
  await page2.getByText(/insufficient funds.*Your seats stay held for/).waitFor();
  await page2.getByRole('button', { name: 'Release the seats' }).click();
  await page2.waitForURL(/\/events\//);
  await waitSeat(second.idx, 'a');
  page.assertClean();
  page2.assertClean();
});

test('stripe checkout: the authentication-required card completes 3-D Secure, or fails cleanly', async () => {
  const { fan, hold, idx } = await fanWithHold('stripe-3ds');
  const page = await stripePage(fan);
  await page.goto(`/checkout/${hold.id}`);
  await page.getByLabel('Card number (Stripe)').fill('4000 0027 6000 3184');
  await page.getByRole('button', { name: /^Pay / }).click();
  const challenge = page.getByRole('dialog', { name: '3D Secure 2 Test Page' });
  await challenge.waitFor();
  assert.equal((await apiAs(fan.token, 'GET', `/api/holds/${hold.id}`)).body.status, 'payment_pending', 'held while authenticating');
  await page.shot('stripe-3ds-challenge');
  await challenge.getByRole('button', { name: 'Complete' }).click();
  await page.waitForURL(/\/orders\//);
  await page.getByRole('heading', { name: 'Thank you!' }).waitFor();
  await waitSeat(idx, 's');
  assert.equal((await page.evaluate(() => window.__fakeStripe.nextActions)).length, 1);

  // Failed: a decline that keeps the seats; then the fan gives up.
  const second = await fanWithHold('stripe-3ds-fail');
  const page2 = await stripePage(second.fan);
  await page2.goto(`/checkout/${second.hold.id}`);
  await page2.getByLabel('Card number (Stripe)').fill('4000 0027 6000 3184');
  await page2.getByRole('button', { name: /^Pay / }).click();
  await page2.getByRole('dialog', { name: '3D Secure 2 Test Page' }).getByRole('button', { name: 'Fail' }).click();
  await page2.getByText(/Payment declined \(the card could not be verified\).*Your seats stay held for/).waitFor();
  await page2.shot('stripe-3ds-failed');
  const { body } = await apiAs(second.fan.token, 'POST', `/api/holds/${second.hold.id}/checkout`);
  assert.equal(body.payment.decline_code, 'payment_intent_authentication_failure');
  await page2.getByRole('button', { name: 'Release the seats' }).click();
  await page2.waitForURL(/\/events\//);
  await waitSeat(second.idx, 'a');
  page.assertClean();
  page2.assertClean();
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
