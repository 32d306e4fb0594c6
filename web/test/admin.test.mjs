// The admin dashboard in a real browser: an admin signs in, finds a fresh
// event in /admin, watches its figures change while fans hold and buy
// seats through the API, and pauses the sale, after which a hold gets 409.
// The event is its own (a theater created here), so pausing it does not
// touch the demo event the other browser tests use.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, apiAs, signUpAPI, BASE } from './helpers.mjs';

const EMAIL = process.env.BOXOFFICE_ADMIN_EMAIL;
const PASSWORD = process.env.BOXOFFICE_ADMIN_PASSWORD;
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function tile(page, key) {
  return (await page.locator(`[data-tile="${key}"]`).textContent()).trim();
}

// waitTile waits until a tile satisfies ok (the frames come once a second).
async function waitTile(page, key, ok, what) {
  await page.waitForFunction(([k, src]) => {
    const el = document.querySelector(`[data-tile="${k}"]`);
    return el && (0, eval)(src)(el.textContent.trim());
  }, [key, ok.toString()], { timeout: 15000 }).catch(async () => {
    assert.fail(`tile ${key} never became ${what}; it shows ${await tile(page, key)}`);
  });
}

test('dashboard: live figures during a small sale, pause takes effect', async () => {
  assert.ok(EMAIL && PASSWORD, 'the Go test passes an admin account');
  const session = await fetch(BASE + '/api/sessions', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
  }).then((r) => r.json());
  const admin = session.token;
  const venue = await apiAs(admin, 'POST', '/api/admin/venues', { name: `Dashboard theater ${Date.now()}`, preset: 'theater' });
  assert.equal(venue.status, 201, JSON.stringify(venue.body));
  const name = `Dashboard test ${Date.now()}`;
  const ev = await apiAs(admin, 'POST', '/api/admin/events', {
    venue_id: venue.body.id, name, prices: { default: 5000 }, reserve_share: 0.1,
    sale_opens: new Date(Date.now() - 60000).toISOString(), event_date: new Date(Date.now() + 86400000).toISOString(),
  });
  assert.equal(ev.status, 201, JSON.stringify(ev.body));
  const id = ev.body.id;

  const page = await newPage(browser);
  await page.goto('/signin');
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Events' }).waitFor();

  await page.goto('/admin');
  await page.getByRole('link', { name }).click();
  await page.getByRole('heading', { name: `Admin: ${name}` }).waitFor();
  await waitTile(page, 'held', (t) => t === '0', '0');
  assert.equal(await tile(page, 'sold'), '0');
  await page.shot('admin-before');

  // A small simulated sale: three fans hold two seats each, one pays.
  const fans = await Promise.all([1, 2, 3].map((i) => signUpAPI(`dash-fan-${i}`)));
  const holds = [];
  for (const f of fans) {
    const r = await apiAs(f.token, 'POST', `/api/events/${id}/holds`, { best_available: { quantity: 2 } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    holds.push(r.body);
  }
  await waitTile(page, 'held', (t) => Number(t) === 6, '6 held');
  // The rate shows for the tick the holds fell in; the chart keeps every
  // tick's value, so a slow test process cannot miss it.
  await page.waitForFunction(() => Math.max(...window.__boxofficeAdmin.chart.points[0]) > 0, null, { timeout: 15000 });
  const pay = await apiAs(fans[0].token, 'POST', `/api/holds/${holds[0].id}/checkout`);
  assert.equal(pay.status, 201, JSON.stringify(pay.body));
  const conf = await apiAs(fans[0].token, 'POST', `/api/payments/${pay.body.payment.id}/confirm`, { card_number: '4242424242424242' });
  assert.equal(conf.status, 200, JSON.stringify(conf.body));
  await waitTile(page, 'sold', (t) => Number(t) === 2, '2 sold');
  await waitTile(page, 'held', (t) => Number(t) === 4, '4 held');
  assert.match(await tile(page, 'revenue'), /100/, 'revenue shows the two 50.00 seats');
  await page.shot('admin-during');

  // Order search finds the paying fan's order.
  await page.getByLabel('Search orders').fill(fans[0].email.slice(0, 12));
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.getByRole('cell', { name: fans[0].email }).waitFor();

  // Pause from the dashboard: the status tile follows and a hold is refused.
  await page.getByRole('button', { name: 'Pause' }).click();
  await waitTile(page, 'status', (t) => t === 'Paused', 'Paused');
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
