// Accessible seating in a real browser: the map filter rings the wheelchair
// spaces; a fan asks best available for one accessible seat and one
// companion, declares the need against the notice, and buys both.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, apiAs, signUpAPI, signIn } from './helpers.mjs';

const EVENT = process.env.BOXOFFICE_EVENT;
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// ringNear reports whether the seat map drew the highlight ring colour
// (#D55E00) on the ring of seat idx, searching a few pixels around it.
function ringNear(page, idx) {
  return page.evaluate((i) => {
    const { view } = window.__boxoffice;
    const p = view.screenOf(i);
    const r = Math.max(view.seatSize() * 0.8, 4);
    const x0 = Math.round((p.x + r) * view.dpr), y0 = Math.round(p.y * view.dpr);
    const d = view.ctx.getImageData(x0 - 4, y0 - 4, 9, 9).data;
    for (let k = 0; k < d.length; k += 4) {
      if (Math.abs(d[k] - 0xd5) < 40 && Math.abs(d[k + 1] - 0x5e) < 40 && d[k + 2] < 60) return true;
    }
    return false;
  }, idx);
}

test('accessible filter, and an accessible seat with a companion bought', async () => {
  const fan = await signUpAPI('wheel');
  const page = await newPage(browser);
  await signIn(page, fan);
  await page.goto(`/events/${EVENT}`);
  await page.waitForFunction(() => window.__boxoffice && window.__boxoffice.view.stateOf(0) !== '?');

  // The filter rings every accessible seat, and only when it is on.
  const { count, idx } = await page.evaluate(() => {
    const { layout } = window.__boxoffice;
    const acc = layout.seats.flatMap((s, i) => (s.type === 'accessible' ? [i] : []));
    return { count: acc.length, idx: acc[Math.floor(acc.length / 2)] };
  });
  assert.ok(count > 0, 'the demo stadium has accessible seats');
  await page.evaluate((i) => { const { view } = window.__boxoffice; const p = view.screenOf(i); view.zoomAt(8, p.x, p.y); }, idx);
  await page.waitForTimeout(100);
  assert.equal(await ringNear(page, idx), false, 'no ring before the filter is on');
  await page.getByLabel('Highlight accessible seats').check();
  await page.waitForTimeout(100);
  assert.equal(await page.evaluate(() => window.__boxoffice.view.highlighted.size), count);
  assert.ok(await ringNear(page, idx), 'the accessible seat is ringed');
  await page.getByText(/accessible seats \(ringed\) can be booked/).waitFor();
  await page.shot('accessible-filter');

  // Best available: two seats, one of them accessible. The notice shows,
  // and the form will not go without the declaration.
  await page.getByLabel('Number of seats').selectOption('2');
  await page.getByLabel('Accessible seats', { exact: true }).selectOption('1');
  const notice = page.getByRole('note');
  await notice.waitFor();
  assert.match(await notice.innerText(), /By asking for them you declare/);
  const declare = page.getByLabel(/needs accessible seating/);
  assert.equal(await declare.evaluate((el) => el.validity.valueMissing), true, 'the declaration is required');
  await declare.check();
  await page.shot('accessible-form');
  await page.getByRole('button', { name: 'Find best seats' }).click();
  await page.waitForURL(/\/checkout\//);
  await page.getByRole('heading', { name: 'Checkout' }).waitFor();

  const holdID = new URL(page.url()).pathname.split('/').pop();
  const held = await apiAs(fan.token, 'GET', `/api/holds/${holdID}`);
  assert.equal(held.status, 200);
  assert.equal(held.body.accessible, 1, 'the hold records an accessible request');
  assert.match(held.body.accessible_notice, /declare/);
  const [a, b] = held.body.seats;
  assert.equal(held.body.seats.length, 2);
  assert.ok(held.body.seats.some((s) => s.type === 'accessible'), 'an accessible seat');
  assert.ok(a.section === b.section && a.row === b.row && Math.abs(a.number - b.number) === 1, 'the companion sits beside it');

  await page.getByLabel('Card number').fill('4242 4242 4242 4242');
  await page.getByRole('button', { name: /^Pay / }).click();
  await page.getByRole('heading', { name: 'Thank you!' }).waitFor();
  await page.shot('accessible-order');
  let tickets;
  for (let k = 0; k < 50; k++) {
    tickets = await apiAs(fan.token, 'GET', '/api/tickets');
    if (tickets.status !== 200 || tickets.body.length >= 2) break;
    await page.waitForTimeout(200);
  }
  assert.equal(tickets.status, 200);
  const seats = tickets.body.map((t) => `${t.seat.section}/${t.seat.row}/${t.seat.number}`).sort();
  assert.deepEqual(seats, [a, b].map((s) => `${s.section}/${s.row}/${s.number}`).sort(), 'both seats are ticketed');
  page.assertClean();
});
