// The waiting list in a real browser: a fan finds a standing floor sold
// out, joins the waiting list from the event page and sees their place in
// line; when the places come back the offer arrives live as a banner with
// its countdown, and checking it out leads to the checkout of the offered
// hold. Of the 2 places released, the one nobody waits for goes back on
// the map; the offered one never does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, apiAs, signUpAPI, signIn, ADMIN_TOKEN } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// floorEvent creates, as the admin, an on-sale event
// whose venue is one standing floor of 2 places; it returns the event id.
async function floorEvent() {
  const session = { token: ADMIN_TOKEN };
  const layout = {
    sections: [{ id: 'FLOOR', name: 'Floor', tier: 'floor', rank: 0, kind: 'ga', capacity: 2, area: { x: 0, y: 0, width: 100, height: 40 } }],
    seats: [],
  };
  const venue = await apiAs(session.token, 'POST', '/api/admin/venues', { name: `Waitlist club ${Date.now()}`, layout });
  assert.equal(venue.status, 201, JSON.stringify(venue.body));
  const ev = await apiAs(session.token, 'POST', '/api/admin/events', {
    venue_id: venue.body.id, name: `Waitlist test ${Date.now()}`, prices: { default: 3000 }, reserve_share: 0,
    sale_opens: new Date(Date.now() - 60000).toISOString(), event_date: new Date(Date.now() + 86400000).toISOString(),
  });
  assert.equal(ev.status, 201, JSON.stringify(ev.body));
  return ev.body.id;
}

test('waiting list: join a sold-out floor, get the offer live, check it out', async () => {
  const id = await floorEvent();
  const rival = await signUpAPI('wl-rival');
  const held = await apiAs(rival.token, 'POST', `/api/events/${id}/holds`, { ga: { section: 'FLOOR', quantity: 2 } });
  assert.equal(held.status, 201, JSON.stringify(held.body));

  const fan = await signUpAPI('wl-fan');
  const page = await newPage(browser);
  await signIn(page, fan);
  await page.goto(`/events/${id}`);
  const card = page.getByRole('region', { name: 'Waiting list' });
  await card.getByRole('button', { name: 'Join the waiting list' }).click();
  await page.getByTestId('waitlist-status').filter({ hasText: 'You are number 1 in line for 1 place.' }).waitFor();

  // The rival lets go: one place is offered to the fan, live.
  const released = await apiAs(rival.token, 'DELETE', `/api/holds/${held.body.id}`);
  assert.equal(released.status, 204);
  const offer = page.getByRole('region', { name: 'Your offer' });
  await offer.getByRole('heading', { name: 'Places are held for you' }).waitFor({ timeout: 10000 });
  assert.match(await offer.getByTestId('offer-countdown').textContent(), /^\d+:\d\d$/);
  assert.ok(await card.isHidden(), 'the join card gives way to the offer');
  // The other place went back on sale; the offered one shows held.
  await page.waitForFunction(() => window.__boxoffice.view.areas[0].left === 1);
  await page.shot('waitlist-offer');

  await offer.getByRole('button', { name: 'Check out' }).click();
  await page.waitForURL(/\/checkout\//);
  await page.getByText('FLOOR · General admission').first().waitFor();
  page.assertClean();
});
