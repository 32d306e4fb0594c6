// The registered-fan lottery in a real browser: a fan registers on the
// event page, withdraws and registers again; a second fan registers by the
// API; at the draw time the server's job draws one winner of the two. Each
// fan's account page then shows their result (one code, one "not drawn"),
// and the verify page recomputes the draw from the published data.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, apiAs, signUpAPI, BASE, ADMIN_TOKEN } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// closesIn is how long registration stays open: long enough for the
// browser steps on a loaded machine, short enough for the suite's budget.
// The clock starts after the slow setup (lotteryEvent, then addLottery).
const closesIn = 20e3;

// lotteryEvent creates an event whose sale opens in two hours and a
// presale window open now; it returns the event id and the window's.
async function lotteryEvent() {
  const admin = ADMIN_TOKEN;
  const seats = [];
  for (let n = 1; n <= 10; n++) seats.push({ section: 'A', row: '1', number: n, x: n * 20, y: 20, type: 'standard', rank: n });
  const layout = { sections: [{ id: 'A', name: 'Stalls', tier: 'stalls', rank: 0 }], seats };
  const venue = await apiAs(admin, 'POST', '/api/admin/venues', { name: `Lottery hall ${Date.now()}`, layout });
  assert.equal(venue.status, 201, JSON.stringify(venue.body));
  const now = Date.now();
  const iso = (ms) => new Date(now + ms).toISOString();
  const ev = await apiAs(admin, 'POST', '/api/admin/events', {
    venue_id: venue.body.id, name: `Lottery night ${now}`, prices: { default: 5000 }, reserve_share: 0,
    sale_opens: iso(2 * 3600e3), event_date: iso(48 * 3600e3),
  });
  assert.equal(ev.status, 201, JSON.stringify(ev.body));
  const id = ev.body.id;
  const w = await apiAs(admin, 'POST', `/api/admin/events/${id}/presales`, { name: 'Lottery winners', starts_at: iso(-60e3), ends_at: iso(3600e3) });
  assert.equal(w.status, 201, JSON.stringify(w.body));
  return { id, presale: w.body.id };
}

// addLottery sets up a lottery of target 1 on the event, closing and
// drawing in closesIn; it returns the close time.
async function addLottery(id, presale) {
  const closes = Date.now() + closesIn;
  const l = await apiAs(ADMIN_TOKEN, 'POST', `/api/admin/events/${id}/lottery`, {
    presale_id: presale, target: 1, closes_at: new Date(closes).toISOString(), draws_at: new Date(closes).toISOString(),
  });
  assert.equal(l.status, 201, JSON.stringify(l.body));
  assert.equal(l.body.state, 'open');
  return closes;
}

async function signedInPage(fan) {
  const page = await newPage(browser, { width: 1280, height: 1400 });
  const url = new URL(BASE);
  await page.context().addCookies([
    { name: 'bo_session', value: fan.token, domain: url.hostname, path: '/', httpOnly: true, sameSite: 'Lax' },
    { name: 'bo_signed_in', value: '1', domain: url.hostname, path: '/', sameSite: 'Lax' },
  ]);
  return page;
}

test('lottery: register on the event page, the draw, results on the account page, the verify page', async () => {
  const t0 = Date.now();
  const { id, presale } = await lotteryEvent();
  const [alice, bob] = [await signUpAPI('lotto-a'), await signUpAPI('lotto-b')];
  const page = await signedInPage(alice);
  const bobPage = await signedInPage(bob);
  console.log(`METRIC lottery_setup_ms=${Date.now() - t0}`);
  const closes = await addLottery(id, presale);
  assert.equal((await apiAs(bob.token, 'POST', `/api/events/${id}/registrations`)).status, 201);
  await page.goto(`/events/${id}`);
  const card = page.getByRole('region', { name: 'Presale lottery' });
  await card.getByRole('button', { name: 'Register for the lottery' }).click();
  await card.getByText("You're registered.").waitFor();
  await card.getByRole('button', { name: 'Withdraw' }).click();
  await card.getByRole('button', { name: 'Register for the lottery' }).click();
  await card.getByRole('button', { name: 'Withdraw' }).waitFor();
  await page.shot('lottery-registered');
  assert.equal((await apiAs(alice.token, 'GET', `/api/events/${id}/registrations`)).body.state, 'registered');
  console.log(`METRIC lottery_registered_ms=${Date.now() - t0}`);

  // The draw runs as a job at the draw time.
  assert.ok(Date.now() < closes, 'registered before the close');
  let lottery;
  for (let i = 0; i < 80; i++) {
    if (Date.now() > closes) {
      lottery = (await apiAs(bob.token, 'GET', `/api/events/${id}/lottery`)).body;
      if (lottery.state === 'drawn') break;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.equal(lottery.state, 'drawn', JSON.stringify(lottery));
  assert.equal(lottery.registrants.length, 2);
  assert.equal(lottery.winners.length, 1);
  console.log(`METRIC lottery_drawn_ms=${Date.now() - t0}`);

  // Each account page shows its result: one code, one "not drawn".
  const shown = {};
  for (const [who, p] of [['alice', page], ['bob', bobPage]]) {
    await p.goto('/account');
    const item = p.getByRole('region', { name: 'Lottery registrations' }).locator(`[data-registration="${id}"]`);
    await item.waitFor();
    shown[who] = { state: await item.getAttribute('data-state'), text: await item.innerText() };
  }
  const states = Object.values(shown).map((s) => s.state).sort();
  assert.deepEqual(states, ['not_drawn', 'won'], JSON.stringify(shown));
  const winner = Object.values(shown).find((s) => s.state === 'won');
  assert.match(winner.text, /your personal access code is [A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}/);
  assert.match(Object.values(shown).find((s) => s.state === 'not_drawn').text, /not drawn this time\. The public sale opens/);
  await page.shot('lottery-account');

  // The verify page recomputes the winners, and finds alice's hash.
  const mine = (await apiAs(alice.token, 'GET', `/api/events/${id}/registrations`)).body;
  await page.goto(`/verify.html?event=${id}&kind=lottery&hash=${mine.hash}`);
  await page.waitForFunction(() => {
    const r = document.getElementById('result');
    return r && !r.hidden && !document.getElementById('verdict').textContent.includes('Checking');
  });
  const result = page.locator('#result');
  const text = await result.innerText();
  assert.equal(await result.getAttribute('data-state'), 'ok', text);
  assert.match(text, /The 1 published winners among 2 registrants are the recomputed ones/);
  assert.match(text, shown.alice.state === 'won' ? /Your hash won: drawn number 1 of 1/ : /Your hash was registered and not drawn/);
  // A tampered copy (the loser published as winner) is caught.
  const tampered = { ...lottery, winners: lottery.registrants.filter((r) => r !== lottery.winners[0]) };
  const got = await page.evaluate(async (l) => (await import('/js/fairdraw.js')).verifyLottery(l), tampered);
  assert.equal(got.state, 'differs', got.message);
  await page.shot('lottery-verify');
  page.assertClean();
  bobPage.assertClean();
  console.log(`METRIC lottery_total_ms=${Date.now() - t0}`);
});
