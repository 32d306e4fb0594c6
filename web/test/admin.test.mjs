// The admin dashboard in a real browser: an admin signs in, finds a fresh
// event in /admin, watches its figures change while fans hold and buy
// seats through the API, and pauses the sale, after which a hold gets 409.
// The event is its own (a theater created here), so pausing it does not
// touch the demo event the other browser tests use.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { launch, newPage, apiAs, signUpAPI, BASE } from './helpers.mjs';
import { solve } from '../../loadtest/k6/lib/pow.js';

const EMAIL = process.env.BOXOFFICE_ADMIN_EMAIL;
const PASSWORD = process.env.BOXOFFICE_ADMIN_PASSWORD;
// Staff sign in with a second factor: each sign-in spends one of the
// admin's recovery codes (the Go test enrolled its TOTP).
const CODES = (process.env.BOXOFFICE_ADMIN_RECOVERY_CODES || '').split(' ').filter(Boolean);
function recoveryCode() {
  assert.ok(CODES.length, 'a recovery code left for the admin');
  return CODES.shift();
}
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function tile(page, key) {
  return (await page.locator(`[data-tile="${key}"]`).textContent()).trim();
}

// waitTile waits until a tile's text matches the pattern (the frames come
// once a second). A RegExp crosses into the page as its source: the page's
// Content-Security-Policy forbids eval, so no function can.
async function waitTile(page, key, pattern, what) {
  await page.waitForFunction(([k, src]) => {
    const el = document.querySelector(`[data-tile="${k}"]`);
    return el && new RegExp(src).test(el.textContent.trim());
  }, [key, pattern.source], { timeout: 15000 }).catch(async () => {
    assert.fail(`tile ${key} never became ${what}; it shows ${await tile(page, key)}`);
  });
}

// adminEvent signs the admin in over the API and creates a fresh on-sale
// theater event; it returns the admin's token, the event id and name.
async function adminEvent(label) {
  assert.ok(EMAIL && PASSWORD, 'the Go test passes an admin account');
  const postJSON = (p, body) => fetch(BASE + p, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  }).then((r) => r.json());
  const step = await postJSON('/api/sessions', { email: EMAIL, password: PASSWORD });
  assert.equal(step.second_factor, 'totp', 'an admin signs in with a second step');
  const session = await postJSON('/api/sessions/second-step', { challenge: step.challenge, code: recoveryCode() });
  const admin = session.token;
  const venue = await apiAs(admin, 'POST', '/api/admin/venues', { name: `${label} theater ${Date.now()}`, preset: 'theater' });
  assert.equal(venue.status, 201, JSON.stringify(venue.body));
  const name = `${label} test ${Date.now()}`;
  const ev = await apiAs(admin, 'POST', '/api/admin/events', {
    venue_id: venue.body.id, name, prices: { default: 5000 }, reserve_share: 0.1,
    sale_opens: new Date(Date.now() - 60000).toISOString(), event_date: new Date(Date.now() + 86400000).toISOString(),
  });
  assert.equal(ev.status, 201, JSON.stringify(ev.body));
  return { admin, id: ev.body.id, name };
}

// signInPage opens a page signed in as the admin.
async function signInPage() {
  const page = await newPage(browser);
  await page.goto('/signin');
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  // The password check (bcrypt, under -race on a loaded machine) comes
  // before the second step shows: wait longer than the default.
  await page.getByLabel(/recovery code/).waitFor({ timeout: 90000 });
  await page.getByLabel(/recovery code/).fill(recoveryCode());
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('heading', { name: 'Events' }).waitFor();
  return page;
}

test('dashboard: live figures during a small sale, pause takes effect', async () => {
  const { admin, id, name } = await adminEvent('Dashboard');
  const page = await signInPage();

  await page.goto('/admin');
  // The background-jobs card counts dead jobs and failing refunds.
  await page.getByRole('heading', { name: 'Background jobs' }).waitFor();
  await waitTile(page, 'dead_jobs', /^\d+$/, 'a count');
  await waitTile(page, 'failing_refunds', /^\d+$/, 'a count');
  // The stuck-payments card counts stuck and failing payments.
  await page.getByRole('heading', { name: 'Stuck payments' }).waitFor();
  await waitTile(page, 'stuck_payments', /^\d+$/, 'a count');
  await waitTile(page, 'failing_payments', /^\d+$/, 'a count');
  await page.shot('admin-jobs');
  await page.getByRole('link', { name }).click();
  await page.getByRole('heading', { name: `Admin: ${name}` }).waitFor();
  assert.ok(await page.getByRole('link', { name: 'CSV' }).getAttribute('href'), 'the ledger link');
  await waitTile(page, 'held', /^0$/, '0');
  assert.equal(await tile(page, 'sold'), '0');
  // The first live frame: the socket is subscribed, so the frame of the
  // tick the holds fall in reaches the chart (the tiles were filled by the
  // page's GET, which can come first on a busy machine).
  await page.waitForFunction(() => window.__boxofficeAdmin?.chart.points[0].length > 0, null, { timeout: 15000 });
  await page.shot('admin-before');

  // A small simulated sale: three fans hold two seats each, one pays.
  const fans = await Promise.all([1, 2, 3].map((i) => signUpAPI(`dash-fan-${i}`)));
  const holds = [];
  for (const f of fans) {
    const r = await apiAs(f.token, 'POST', `/api/events/${id}/holds`, { best_available: { quantity: 2 } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    holds.push(r.body);
  }
  await waitTile(page, 'held', /^6$/, '6 held');
  // The rate shows for the tick the holds fell in; the chart keeps every
  // tick's value, so a slow test process cannot miss it.
  await page.waitForFunction(() => Math.max(...window.__boxofficeAdmin.chart.points[0]) > 0, null, { timeout: 15000 });
  const pay = await apiAs(fans[0].token, 'POST', `/api/holds/${holds[0].id}/checkout`);
  assert.equal(pay.status, 201, JSON.stringify(pay.body));
  const conf = await apiAs(fans[0].token, 'POST', `/api/payments/${pay.body.payment.id}/confirm`, { card_number: '4242424242424242' });
  assert.equal(conf.status, 200, JSON.stringify(conf.body));
  await waitTile(page, 'sold', /^2$/, '2 sold');
  await waitTile(page, 'held', /^4$/, '4 held');
  assert.match(await tile(page, 'revenue'), /100/, 'revenue shows the two 50.00 seats');
  await page.shot('admin-during');

  // The on-sale dashboard: the funnel counts the 4 seats still held by two
  // fans and the 2 sold; the uPlot chart drew on a high-DPI-aware canvas;
  // the venue map shows the sold seats; the section table sorts; the
  // check-ins panel counts; no figure reads null, undefined or NaN.
  await page.waitForFunction(() => document.querySelector('[data-funnel="holding"]')?.textContent === '2', null, { timeout: 15000 });
  for (const key of ['queue', 'admitted', 'holding', 'paying', 'sold']) {
    assert.match((await page.locator(`[data-funnel="${key}"]`).textContent()).trim(), /^\d+$/, `funnel ${key}`);
  }
  assert.equal(await page.locator('[data-funnel="sold"]').textContent(), '2');
  const plot = await page.evaluate(() => {
    const c = document.querySelector('.timechart .uplot canvas');
    return c && { w: c.width, cssW: c.getBoundingClientRect().width, dpr: window.devicePixelRatio, points: window.__boxofficeAdmin.chart.times.length };
  });
  assert.ok(plot && plot.cssW > 100 && Math.abs(plot.w - plot.cssW * plot.dpr) < 2 && plot.points > 0, `uPlot canvas ${JSON.stringify(plot)}`);
  await page.waitForFunction(() => {
    const v = window.__boxofficeAdminMap;
    return v && [...Array(v.n).keys()].filter((i) => v.stateOf(i) === 's').length === 2;
  }, null, { timeout: 15000 });
  await page.getByRole('button', { name: 'Sold', exact: true }).click();
  assert.equal(await page.locator('th:has(button[data-sort="sold"])').getAttribute('aria-sort'), 'descending');
  await waitTile(page, 'checked_in', /^0 of 2$/, '0 of 2');
  await page.getByTestId('alert-rules').waitFor();
  const text = await page.evaluate(() => document.body.innerText);
  assert.doesNotMatch(text, /\b(null|undefined|NaN)\b/, 'no missing figure shows as null, undefined or NaN');
  await page.shot('admin-dashboard');

  // Order search finds the paying fan's order.
  await page.getByLabel('Search orders').fill(fans[0].email.slice(0, 12));
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.getByRole('cell', { name: fans[0].email }).waitFor();

  // Pause from the dashboard: the status tile follows and a hold is refused.
  await page.getByRole('button', { name: 'Pause' }).click();
  await waitTile(page, 'status', /^Paused$/, 'Paused');
  const late = await signUpAPI('dash-late');
  const refused = await apiAs(late.token, 'POST', `/api/events/${id}/holds`, { best_available: { quantity: 1 } });
  assert.equal(refused.status, 409, JSON.stringify(refused.body));

  // Cancel needs the event's name typed.
  const cancel = page.getByRole('button', { name: 'Cancel event and refund' });
  assert.ok(await cancel.isDisabled(), 'cancel is disabled until the name is typed');
  await page.locator('#cancel-confirm').fill(name);
  assert.ok(await cancel.isEnabled());
  await page.shot('admin-paused');
  page.assertClean();
});

// buyAtBotSpeed takes a fan through the waiting room and buys one seat as
// fast as a script can: the review signals hold the order back.
async function buyAtBotSpeed(id, name) {
  const fan = await signUpAPI(name);
  const ch = await apiAs(fan.token, 'GET', `/api/events/${id}/queue/challenge`);
  assert.equal(ch.status, 200, JSON.stringify(ch.body));
  const solution = solve(ch.body.challenge, ch.body.difficulty, (s) => createHash('sha256').update(s).digest('hex'));
  const joined = await apiAs(fan.token, 'POST', `/api/events/${id}/queue`, { challenge: ch.body.challenge, signature: ch.body.signature, solution });
  assert.equal(joined.status, 201, JSON.stringify(joined.body));
  let me;
  for (let i = 0; i < 100; i++) { // the admitter ticks once a second
    me = await apiAs(fan.token, 'GET', `/api/events/${id}/queue/me`);
    if (me.body?.admission_token) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(me.body?.admission_token, `never admitted: ${JSON.stringify(me.body)}`);
  const res = await fetch(`${BASE}/api/events/${id}/holds`, {
    method: 'POST', body: JSON.stringify({ best_available: { quantity: 1 } }),
    headers: { Authorization: `Bearer ${fan.token}`, 'Content-Type': 'application/json', 'X-Admission-Token': me.body.admission_token },
  });
  const hold = await res.json();
  assert.equal(res.status, 201, JSON.stringify(hold));
  const co = await apiAs(fan.token, 'POST', `/api/holds/${hold.id}/checkout`);
  const paid = await apiAs(fan.token, 'POST', `/api/payments/${co.body.payment.id}/confirm`, { card_number: '4242424242424242' });
  assert.equal(paid.body.status, 'review', JSON.stringify(paid.body));
  return { fan, order: paid.body.order_id, seat: hold.seats[0] };
}

test('review queue: flagged purchases wait; approve sends the tickets, reject frees the seat', async () => {
  const { admin, id, name } = await adminEvent('Review');
  // The fans sign up over the API and read no mail: this room does not
  // require a verified address.
  const room = await apiAs(admin, 'PUT', `/api/admin/events/${id}/queue`,
    { enabled: true, admit_per_minute: 6000, active_limit: 100, pow_difficulty: 4, require_verified_email: false });
  assert.equal(room.status, 200, JSON.stringify(room.body));
  const keep = await buyAtBotSpeed(id, 'review-keep');
  const drop = await buyAtBotSpeed(id, 'review-drop');

  const page = await signInPage();
  await page.goto(`/admin/events/${id}`);
  await page.getByRole('heading', { name: `Admin: ${name}` }).waitFor();
  const keepRow = page.locator(`tr[data-order="${keep.order}"]`);
  const dropRow = page.locator(`tr[data-order="${drop.order}"]`);
  await keepRow.waitFor();
  await dropRow.waitFor();
  assert.match(await keepRow.textContent(), /paid too soon after holding/);
  assert.equal((await page.getByTestId('review-count').textContent()).trim(), '2 waiting');
  await page.getByRole('heading', { name: /Review queue/ }).scrollIntoViewIfNeeded();
  await page.shot('admin-review-queue');

  await keepRow.getByRole('button', { name: 'Approve' }).click();
  await keepRow.waitFor({ state: 'detached' });
  const approved = await apiAs(keep.fan.token, 'GET', `/api/orders/${keep.order}`);
  assert.equal(approved.body.status, 'paid');
  assert.equal(approved.body.tickets[0].status, 'valid');

  // Reject asks twice: the first click only arms the button.
  await dropRow.getByRole('button', { name: 'Reject' }).click();
  await dropRow.getByRole('button', { name: 'Confirm reject' }).click();
  await dropRow.waitFor({ state: 'detached' });
  await page.getByText('No orders waiting for review.').waitFor();
  const rejected = await apiAs(drop.fan.token, 'GET', `/api/orders/${drop.order}`);
  assert.equal(rejected.body.status, 'rejected');
  const seatmap = await apiAs(admin, 'GET', `/api/events/${id}/seatmap`);
  const seat = seatmap.body.seats.find((s) => String(s.id) === String(drop.seat.id));
  assert.ok(seat, 'the rejected seat is on the map');
  let state;
  for (let i = 0; i < 50 && state !== 'a'; i++) { // availability is a snapshot up to a second old
    if (i) await new Promise((r) => setTimeout(r, 100));
    state = (await apiAs(admin, 'GET', `/api/events/${id}/availability`)).body.statuses[seat.idx];
  }
  assert.equal(state, 'a', 'the rejected seat is available again');
  page.assertClean();

  // The fan whose order was rejected sees why, in words.
  const fanPage = await newPage(browser);
  await fanPage.goto('/signin');
  await fanPage.getByLabel('Email').fill(drop.fan.email);
  await fanPage.getByLabel('Password').fill('browser-test-1');
  await fanPage.getByRole('button', { name: 'Sign in' }).click();
  await fanPage.getByRole('heading', { name: 'Events' }).waitFor();
  await fanPage.goto(`/orders/${drop.order}`);
  await fanPage.getByRole('heading', { name: 'Order not confirmed' }).waitFor();
  await fanPage.getByText('You were not charged.').waitFor();
  await fanPage.shot('order-rejected');
  fanPage.assertClean();
});
