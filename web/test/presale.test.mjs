// Presales in a real browser: before the general sale, a fan on the queue
// page sees the windows counting down, enters a single-use access code,
// lands on the seat map and holds a seat; a second fan with the same code
// is told it is used. The event is its own, made here through the admin API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, apiAs, signUpAPI, BASE, ADMIN_TOKEN } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// presaleEvent creates an event whose sale opens in two hours, with
// a waiting room, one presale window open now with two single-use codes
// and one opening in 30 minutes; it returns the event id and the codes.
async function presaleEvent() {
  const admin = ADMIN_TOKEN;
  // A small hall (two rows of ten) keeps the setup quick.
  const seats = [];
  for (let r = 1; r <= 2; r++) for (let n = 1; n <= 10; n++) seats.push({ section: 'A', row: String(r), number: n, x: n * 20, y: r * 20, type: 'standard', rank: r * 100 + n });
  const layout = { sections: [{ id: 'A', name: 'Stalls', tier: 'stalls', rank: 0 }], seats };
  const venue = await apiAs(admin, 'POST', '/api/admin/venues', { name: `Presale hall ${Date.now()}`, layout });
  assert.equal(venue.status, 201, JSON.stringify(venue.body));
  const now = Date.now();
  const iso = (ms) => new Date(now + ms).toISOString();
  const ev = await apiAs(admin, 'POST', '/api/admin/events', {
    venue_id: venue.body.id, name: `Presale night ${now}`, prices: { default: 5000 }, reserve_share: 0,
    sale_opens: iso(2 * 3600e3), event_date: iso(48 * 3600e3), waiting_room: { enabled: true, pow_difficulty: 4 },
  });
  assert.equal(ev.status, 201, JSON.stringify(ev.body));
  const id = ev.body.id;
  // Its fans are new and unverified, which a room asks for by default.
  const room = await apiAs(admin, 'PUT', `/api/admin/events/${id}/queue`, { require_verified_email: false });
  assert.equal(room.status, 200, JSON.stringify(room.body));
  const open = await apiAs(admin, 'POST', `/api/admin/events/${id}/presales`, { name: 'Fan club', starts_at: iso(-60e3), ends_at: iso(3600e3), max_seats_per_account: 2, share: 5 });
  assert.equal(open.status, 201, JSON.stringify(open.body));
  const later = await apiAs(admin, 'POST', `/api/admin/events/${id}/presales`, { name: 'Card members', starts_at: iso(1800e3), ends_at: iso(5400e3) });
  assert.equal(later.status, 201, JSON.stringify(later.body));
  assert.equal((await apiAs(admin, 'POST', `/api/admin/presales/${open.body.id}/codes`, { count: 2 })).status, 201);
  const csv = await fetch(`${BASE}/api/admin/presales/${open.body.id}/codes`, { headers: { Authorization: `Bearer ${admin}` } }).then((r) => r.text());
  const codes = csv.trim().split('\n').slice(1).map((line) => line.split(',')[0]);
  assert.equal(codes.length, 2, csv);
  return { id, codes };
}

// signedInPage opens a page tall enough to show the presale card and the
// whole seat map, so a click on a seat lands on it.
async function signedInPage(fan) {
  const page = await newPage(browser, { width: 1280, height: 1600 });
  const url = new URL(BASE);
  await page.context().addCookies([
    { name: 'bo_session', value: fan.token, domain: url.hostname, path: '/', httpOnly: true, sameSite: 'Lax' },
    { name: 'bo_signed_in', value: '1', domain: url.hostname, path: '/', sameSite: 'Lax' },
  ]);
  return page;
}

let t0 = Date.now();
const mark = (what) => console.log(`METRIC presale_${what}_ms=${Date.now() - t0}`);

test('presale: countdowns, a code on the queue page, a hold before the sale, a used code refused', async () => {
  t0 = Date.now();
  const { id, codes } = await presaleEvent();
  mark('event');
  const page = await signedInPage(await signUpAPI('presaler'));
  await page.goto(`/events/${id}/queue`);
  const presales = page.getByRole('region', { name: 'Presales' });
  await presales.getByText('Fan club').waitFor();
  const later = presales.locator('[data-presale] [data-countdown]').nth(1);
  assert.match(await presales.locator('[data-presale]').first().textContent(), /Open now · ends in/);
  const first = await later.textContent();
  assert.match(first, /^Opens in \d+:\d\d$/);
  // The countdown ticks by the second.
  await page.waitForFunction((t) => {
    const el = document.querySelectorAll('[data-presale] [data-countdown]')[1];
    return el && el.textContent !== t;
  }, first, { timeout: 5000 });
  // The window's share shows what is left of it.
  assert.equal(await presales.locator('[data-share]').first().textContent(), ' · 5 of 5 places left');
  await page.shot('presale-queue');
  mark('queue');

  // The code (typed in lower case, as fans do) skips the line.
  await presales.getByLabel('Access code').fill(codes[0].toLowerCase());
  await presales.getByRole('button', { name: 'Enter code' }).click();
  await page.waitForURL(new RegExp(`/events/${id}$`));
  await page.waitForFunction(() => window.__boxoffice && window.__boxoffice.view.stateOf(0) !== '?');
  await page.getByRole('region', { name: 'Presales' }).getByText("You're in").first().waitFor();
  const p = await page.evaluate(() => {
    const { view } = window.__boxoffice;
    for (let i = 0; i < view.n; i++) {
      const p = view.screenOf(i);
      if (view.stateOf(i) === 'a' && p.x > 5 && p.y > 5 && p.x < view.cssW - 5 && p.y < view.cssH - 5) return p;
    }
    return null;
  });
  await page.locator('canvas[role=application]').click({ position: { x: p.x, y: p.y } });
  await page.getByRole('button', { name: 'Hold 1 seat' }).click();
  await page.waitForURL(/\/checkout\//);
  mark('held');
  await page.shot('presale-held');
  page.assertClean();

  // Another fan with the same code is told it is taken; the second code
  // lets them in. Not assertClean: Chromium logs the refused request.
  const other = await signedInPage(await signUpAPI('latecomer'));
  await other.goto(`/events/${id}`);
  const card = other.getByRole('region', { name: 'Presales' });
  await card.getByLabel('Access code').fill(codes[0]);
  await card.getByRole('button', { name: 'Enter code' }).click();
  await card.getByText('That code was already used by another account.').waitFor();
  await card.getByLabel('Access code').fill(codes[1]);
  await card.getByRole('button', { name: 'Enter code' }).click();
  await card.getByText("You're in: Fan club.").waitFor();
  // The first fan's seat is taken from the share.
  assert.equal(await card.locator('[data-share]').first().textContent(), ' · 4 of 5 places left');
  await other.shot('presale-event-page');
  mark('done');
});
