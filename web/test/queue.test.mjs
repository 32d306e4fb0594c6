// The waiting room in a real browser: the fan solves the proof of work, sees
// a position and a progress bar that moves, is admitted and reaches the seat
// map, where a hold carries the admission token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, signUpAPI, BASE } from './helpers.mjs';

const ROOM = process.env.BOXOFFICE_ROOM_EVENT;
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('waiting room: position, moving progress bar, admission, seat map', { skip: !ROOM && 'no waiting-room event' }, async () => {
  const fan = await signUpAPI('queuer');
  const page = await newPage(browser);
  const url = new URL(BASE);
  await page.context().addCookies([
    { name: 'bo_session', value: fan.token, domain: url.hostname, path: '/', httpOnly: true, sameSite: 'Lax' },
    { name: 'bo_signed_in', value: '1', domain: url.hostname, path: '/', sameSite: 'Lax' },
  ]);
  await page.goto(`/events/${ROOM}/queue`);
  await page.getByText(/ahead of you/).waitFor({ timeout: 20000 });
  const bar = page.getByRole('progressbar');
  const first = Number(await bar.getAttribute('aria-valuenow'));
  await page.shot('queue-waiting');
  // The bar moves with the cursor frames; a fan admitted between two polls
  // has left for the seat map (the bar's end) before the poll sees it.
  await page.waitForFunction(([v, room]) => {
    const el = document.querySelector('[role=progressbar]');
    return el ? Number(el.getAttribute('aria-valuenow')) > v : location.pathname === `/events/${room}`;
  }, [first, ROOM], { timeout: 20000, polling: 100 });
  const moved = await page.evaluate(() => Number(document.querySelector('[role=progressbar]')?.getAttribute('aria-valuenow') ?? 100));
  console.log(`METRIC queue_progress_from=${first} to=${moved}`);
  await page.waitForURL(new RegExp(`/events/${ROOM}$`), { timeout: 45000 });
  await page.waitForFunction(() => window.__boxoffice && window.__boxoffice.view.stateOf(0) !== '?');
  assert.ok(await page.evaluate((e) => Boolean(sessionStorage.getItem(`admission:${e}`)), ROOM), 'the admission token is kept');
  await page.shot('queue-admitted-seatmap');
  // Pick one available seat and hold it: the hold needs the admission token.
  const p = await page.evaluate(() => {
    const { view } = window.__boxoffice;
    for (let i = 0; i < view.n; i++) if (view.stateOf(i) === 'a') return view.screenOf(i);
    return null;
  });
  await page.locator('canvas[role=application]').click({ position: { x: p.x, y: p.y } });
  await page.getByRole('button', { name: 'Hold 1 seat' }).click();
  await page.waitForURL(/\/checkout\//);
  page.assertClean();
});
