// A standing floor in a real browser: the demo arena's general-admission
// area is drawn as one area with its live count left; another fan's ga
// hold lowers the count without a reload; a click on the area offers a
// quantity, and holding it leads to the checkout with places that show no
// row or seat.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, apiAs, signUpAPI, signIn, BASE } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('a standing floor: one area, live count, hold by quantity', async () => {
  const events = await (await fetch(`${BASE}/api/events`)).json();
  const ev = events.find((e) => e.name.includes('Neon Harbor'));
  assert.ok(ev, 'the demo has an event with a standing floor');
  const fan = await signUpAPI('standing');
  const page = await newPage(browser);
  await signIn(page, fan);
  await page.goto(`/events/${ev.id}`);
  await page.waitForFunction(() => window.__boxoffice && window.__boxoffice.view.areas.length === 1 && window.__boxoffice.view.areas[0].left > 0);
  const before = await page.evaluate(() => window.__boxoffice.view.areas[0].left);
  const left = page.locator('[data-ga-left="FLOOR"]');
  assert.equal(await left.textContent(), `${before.toLocaleString('en-US')} left`);

  // Another fan holds 3 places: the count drops by 3, live.
  const rival = await signUpAPI('rival');
  const held = await apiAs(rival.token, 'POST', `/api/events/${ev.id}/holds`, { ga: { section: 'FLOOR', quantity: 3 } });
  assert.equal(held.status, 201);
  await page.waitForFunction((n) => window.__boxoffice.view.areas[0].left === n, before - 3, { timeout: 5000 });
  await page.shot('standing-floor');

  // A click in the middle of the area offers the quantity; 2 places held.
  const centre = await page.evaluate(() => {
    const { view } = window.__boxoffice;
    const b = view.areas[0].box;
    const r = view.canvas.getBoundingClientRect();
    return { x: r.left + ((b.minX + b.maxX) / 2) * view.scale + view.tx, y: r.top + ((b.minY + b.maxY) / 2) * view.scale + view.ty };
  });
  await page.mouse.click(centre.x, centre.y);
  const count = page.getByLabel('Number of places on Standing floor');
  await count.selectOption('2');
  await page.locator('form[data-ga="FLOOR"]').getByRole('button', { name: 'Hold places' }).click();
  await page.waitForURL(/\/checkout\//);
  await page.getByText('FLOOR · General admission').first().waitFor();
  assert.equal(await page.getByText('FLOOR · General admission').count(), 2);
  assert.equal(await page.getByText(/Row\s+·/).count(), 0, 'no empty row shown');
});
