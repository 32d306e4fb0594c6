// Every page of the app, as a fan, an admin, a scanner and a visitor: none
// may show "null", "undefined", "NaN" or "[object Object]" in its visible
// text (the order page once printed a stray null under the order line).
// The pages come from the router in js/app/main.js, so a new page without
// an address here fails the test. Also: the event list's search, and an
// event page with its description, artist, image and times in the venue's
// time zone, seen from a browser in another zone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launch, apiAs, signUpAPI, asAdmin, BASE, ARTIFACTS, ADMIN_TOKEN } from './helpers.mjs';
import path from 'node:path';

const EVENT = process.env.BOXOFFICE_EVENT;
const ROOM_EVENT = process.env.BOXOFFICE_ROOM_EVENT;
// The admin signs in with a second factor: its pages use the session the
// Go test made (ADMIN_TOKEN), as a cookie.
const ADMIN = { admin: true };
const SCANNER = { email: process.env.BOXOFFICE_SCANNER_EMAIL, password: 'browser-test-1' };
const BAD_TEXT = /\b(null|undefined|NaN)\b|\[object Object\]/;
// The browser's own zone, far from the venues', so a time shown in the
// browser's zone instead of the venue's is caught.
const BROWSER_TZ = 'Pacific/Honolulu';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// routes are the page patterns of the app's router, read from its source.
function routes() {
  const src = readFileSync(new URL('../static/js/app/main.js', import.meta.url), 'utf8');
  const out = [...src.matchAll(/^\s*\[\/(\^.*?\$)\/,/gm)].map((m) => new RegExp(m[1].replace(/\\\//g, '/')));
  assert.ok(out.length >= 10, `only ${out.length} routes found in main.js`);
  return out;
}

async function contextFor(who) {
  const context = await browser.newContext({ baseURL: BASE, timezoneId: BROWSER_TZ, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  if (who?.admin) {
    await asAdmin(page);
  } else if (who) {
    await page.goto('/signin');
    await page.getByLabel('Email').fill(who.email);
    await page.getByLabel('Password').fill(who.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  }
  return page;
}

// settle waits for a page to finish loading what it shows.
async function settle(page) {
  await page.waitForLoadState('networkidle', { timeout: 10000 }).catch(() => {});
  await page.waitForFunction(() => !document.querySelector('main [aria-busy="true"]') && !/Loading/.test(document.querySelector('main')?.innerText || ''),
    null, { timeout: 10000 }).catch(() => {});
}

async function visibleTextClean(page, url, who) {
  await page.goto(url);
  await settle(page);
  const text = await page.locator('body').innerText();
  const m = text.match(BAD_TEXT);
  if (m) {
    await page.screenshot({ path: path.join(ARTIFACTS, `bad-text-${who}-${url.replace(/[^a-z0-9]+/gi, '_')}.png`) });
    const at = text.indexOf(m[0]);
    assert.fail(`${url} as ${who} shows "${m[0]}": …${text.slice(Math.max(0, at - 80), at + 40)}…`);
  }
}

// A tiny PNG drawn by the browser, for the image upload.
async function pngBytes(page) {
  const dataURL = await page.evaluate(() => {
    const c = document.createElement('canvas');
    c.width = 96; c.height = 54;
    const g = c.getContext('2d');
    g.fillStyle = '#3355aa'; g.fillRect(0, 0, 96, 54);
    g.fillStyle = '#ffcc00'; g.fillRect(20, 10, 40, 30);
    return c.toDataURL('image/png');
  });
  return Buffer.from(dataURL.split(',')[1], 'base64');
}

test('every page, every role: no null, undefined or NaN on screen', async () => {
  const fan = await signUpAPI('walker');
  fan.password = 'browser-test-1';
  // An order to show, and an active hold for the checkout page.
  const av = await (await fetch(`${BASE}/api/events/${EVENT}/availability`)).json();
  const layout = await (await fetch(`${BASE}/api/events/${EVENT}/seatmap`)).json();
  const free = [...av.statuses].map((c, i) => (c === 'a' ? i : -1)).filter((i) => i >= 0);
  assert.ok(free.length >= 2, 'two available seats');
  const bought = await apiAs(fan.token, 'POST', `/api/events/${EVENT}/holds`, { seat_ids: [layout.seats[free.at(-1)].id] });
  assert.equal(bought.status, 201);
  const pay = await apiAs(fan.token, 'POST', `/api/holds/${bought.body.id}/checkout`);
  const paid = await apiAs(fan.token, 'POST', `/api/payments/${pay.body.payment.id}/confirm`, { card_number: '4242424242424242' });
  assert.equal(paid.body.status, 'succeeded');
  const order = paid.body.order_id;
  const hold = await apiAs(fan.token, 'POST', `/api/events/${EVENT}/holds`, { seat_ids: [layout.seats[free.at(-2)].id] });
  assert.equal(hold.status, 201);

  const venues = await apiAs(ADMIN_TOKEN, 'GET', '/api/admin/venues');
  assert.equal(venues.status, 200);
  const urls = ['/', '/?q=midnight', `/events/${EVENT}`, `/events/${ROOM_EVENT}/queue`, `/checkout/${hold.body.id}`,
    '/orders', `/orders/${order}`, '/tickets', '/scan', '/signin', '/signup', '/admin', `/admin/events/${EVENT}`, '/no-such-page',
    `/payments/${pay.body.payment.id}/challenge`, '/forgot-password', '/reset-password', '/verify-email', '/confirm-email',
    '/account', '/admin/orders', `/admin/orders/${order}`, '/admin/roles', `/events/${EVENT}/refund-choice`, '/unsubscribe',
    '/admin/events/new', `/admin/events/${EVENT}/edit`, '/admin/venues', '/admin/venues/new', `/admin/venues/${venues.body[0].id}`, '/box-office'];
  for (const re of routes()) {
    assert.ok(urls.some((u) => re.test(u.split('?')[0])), `no page of this test opens the route ${re}: add an address for it`);
  }
  const roles = [['visitor', null], ['fan', fan], ['admin', ADMIN], ['scanner', SCANNER]];
  for (const [name, who] of roles) {
    const page = await contextFor(who);
    for (const url of urls) {
      // Another account's hold and order are "not found" pages: still
      // checked, they must read cleanly too.
      await visibleTextClean(page, url, name);
    }
    await page.context().close();
  }
  await apiAs(fan.token, 'DELETE', `/api/holds/${hold.body.id}`);
});

test('the order page: no stray null, times in the venue zone, an Add to calendar file', async () => {
  const fan = await signUpAPI('calendar');
  fan.password = 'browser-test-1';
  const av = await (await fetch(`${BASE}/api/events/${EVENT}/availability`)).json();
  const layout = await (await fetch(`${BASE}/api/events/${EVENT}/seatmap`)).json();
  const idx = av.statuses.lastIndexOf('a');
  const hold = await apiAs(fan.token, 'POST', `/api/events/${EVENT}/holds`, { seat_ids: [layout.seats[idx].id] });
  const pay = await apiAs(fan.token, 'POST', `/api/holds/${hold.body.id}/checkout`);
  const paid = await apiAs(fan.token, 'POST', `/api/payments/${pay.body.payment.id}/confirm`, { card_number: '4242424242424242' });
  const order = (await apiAs(fan.token, 'GET', `/api/orders/${paid.body.order_id}`)).body;

  const page = await contextFor(fan);
  await page.goto(`/orders/${order.id}`);
  await page.getByTestId('order-status').waitFor();
  const main = await page.locator('main').innerText();
  assert.doesNotMatch(main, BAD_TEXT);
  const when = new Intl.DateTimeFormat('en-US', { hour: 'numeric', minute: '2-digit', timeZone: order.time_zone }).format(new Date(order.event_date));
  const shown = await page.getByTestId('order-date').innerText();
  assert.ok(shown.includes(when), `the order shows ${shown}, want the venue's ${when} (${order.time_zone})`);
  const link = page.getByRole('link', { name: 'Add to calendar' });
  const href = await link.getAttribute('href');
  const ics = await page.evaluate(async (u) => { const r = await fetch(u); return [r.status, r.headers.get('content-type'), await r.text()]; }, href);
  assert.equal(ics[0], 200);
  assert.match(ics[1], /^text\/calendar/);
  assert.match(ics[2], /^BEGIN:VCALENDAR\r\n/);
  assert.match(ics[2], /\r\nDTSTART:\d{8}T\d{6}Z\r\n/);
  await page.screenshot({ path: path.join(ARTIFACTS, 'order-calendar.png') });
  await page.context().close();
});

test('event list search and an event page with its story, image and local time', async () => {
  const token = ADMIN_TOKEN;
  const tag = Math.random().toString(36).slice(2, 8);
  const venue = await apiAs(token, 'POST', '/api/admin/venues', { name: `Coliseu ${tag}`, preset: 'theater', city: `Lisboa${tag}`, time_zone: 'Europe/Lisbon' });
  assert.equal(venue.status, 201, JSON.stringify(venue.body));
  const at = new Date(Date.now() + 20 * 86400e3);
  at.setUTCHours(19, 30, 0, 0);
  const description = `A night of fado ${tag}.\n\nDoors at seven. <b>not bold</b> <img src=x onerror=alert(1)>`;
  const created = await apiAs(token, 'POST', '/api/admin/events', {
    venue_id: venue.body.id, name: `Fado ao Vivo ${tag}`, artist: 'Mariza', genre: 'Fado', description,
    event_date: at.toISOString(), sale_opens: new Date(Date.now() - 3600e3).toISOString(), prices: { default: 4000 },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id;

  const page = await contextFor(null);
  const png = await pngBytes(page);
  const up = await fetch(`${BASE}/api/admin/events/${id}/image`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'image/png' }, body: png });
  assert.equal(up.status, 200, await up.text());

  // The list: search by a word of the city, then open the event.
  await page.goto('/');
  await page.getByLabel('Search').fill(`lisboa${tag}`);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL(/\?q=/);
  const card = page.locator('.event-card', { hasText: `Fado ao Vivo ${tag}` });
  await card.waitFor();
  assert.equal(await page.locator('.event-card').count(), 1, 'the search finds this event alone');
  await page.screenshot({ path: path.join(ARTIFACTS, 'events-search.png') });
  await card.getByRole('link').click();
  await page.getByRole('heading', { name: `Fado ao Vivo ${tag}` }).waitFor();
  await settle(page);

  assert.equal(await page.getByTestId('event-artist').innerText(), 'Mariza · Fado');
  const about = page.getByRole('region', { name: 'About this event' });
  assert.equal(await about.locator('p').count(), 2, 'two paragraphs');
  assert.ok((await about.innerText()).includes('<b>not bold</b>'), 'markup in a description is shown as text');
  assert.equal(await about.locator('b, img').count(), 0, 'and never becomes elements');
  const hero = page.locator('img.event-hero');
  await page.waitForFunction(() => document.querySelector('img.event-hero')?.naturalWidth > 0);
  assert.match(await hero.getAttribute('src'), /^\/api\/media\/[0-9a-f]{32}\.jpg$/);
  const lisbon = new Intl.DateTimeFormat('en-US', { hour: 'numeric', minute: '2-digit', timeZone: 'Europe/Lisbon' }).format(at);
  const date = await page.getByTestId('event-date').innerText();
  assert.ok(date.includes(lisbon), `the event page shows ${date}, want Lisbon's ${lisbon}`);
  assert.doesNotMatch(await page.locator('body').innerText(), BAD_TEXT);
  await page.screenshot({ path: path.join(ARTIFACTS, 'event-about.png') });
  await page.context().close();
});
