// The venue builder in a real browser: an admin builds a small venue (a
// seated section of 3 × 10 with an accessible seat, a standing area, a
// stage), sees it drawn by the fans' seat map, saves it, exports its JSON,
// fixes a problem shown at its field, and edits it; once an event is made
// on the venue (through the API) a further save is refused with 409, shown
// on the page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { launch, newPage, asAdmin, apiAs, ADMIN_TOKEN } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const field = (path) => `[data-field="${path}"]`;

// waitSummary waits for the preview's summary to start with prefix (the
// page may be between renders: no summary yet).
const waitSummary = (page, prefix) => page.waitForFunction(
  (p) => document.querySelector('[data-testid="venue-summary"]')?.textContent.startsWith(p), prefix);

test('an admin builds a small venue, saves, exports, fixes an error, edits; an event then fixes it', async () => {
  const page = await newPage(browser);
  // The refusals this test provokes (422, 409) are logged by the browser
  // as failed loads; anything else is a problem.
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error' && !/status of (409|422)/.test(m.text())) problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(e.message));
  await asAdmin(page);
  const name = `Builder Hall ${Date.now()}`;

  // /admin links here; the spec starts at the list itself (/admin first
  // loads every event of the shared database, which is slow under load).
  await page.goto('/admin/venues');
  await page.click('a[href="/admin/venues/new"]');
  await page.fill(field('name'), name);
  await page.click('[data-action="add-seated"]');
  await page.fill(field('sections[0].rows'), '3');
  await page.click('[data-action="add-range"]');
  await page.fill(field('sections[0].seat_types[0].row'), 'C');
  await page.click('[data-action="add-ga"]');
  await page.fill(field('sections[1].capacity'), '40');

  // The preview: 30 seats, one accessible, 40 standing, and the stage,
  // drawn by the seat map fans use.
  const summary = page.locator('[data-testid="venue-summary"]');
  await waitSummary(page, '70 places');
  assert.equal(await summary.textContent(), '70 places: 30 seats (29 standard, 1 accessible), 40 standing.');
  const drawn = await page.evaluate(() => {
    const { view } = window.__venuePreview;
    return { n: view.n, stage: Boolean(view.stage), areas: view.areas.map((a) => a.capacity), highlighted: [...view.highlighted].map((i) => view.seats[i]) };
  });
  assert.deepEqual({ ...drawn, highlighted: drawn.highlighted.map((s) => `${s.row}${s.number} ${s.type}`) },
    { n: 70, stage: true, areas: [40], highlighted: ['C1 accessible'] });
  await page.shot('venue-builder');

  // Save: the page becomes the venue's own.
  await page.click('[data-action="save"]');
  await page.waitForURL(/\/admin\/venues\/\d+$/);
  const id = page.url().match(/(\d+)$/)[1];
  await waitSummary(page, '70 places');

  // Export: the JSON the API takes, design and all.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-action="export"]')]);
  const exported = JSON.parse(await readFile(await download.path(), 'utf8'));
  assert.equal(exported.name, name);
  assert.deepEqual(exported.design.sections.map((s) => [s.id, s.kind || 'seated']), [['S1', 'seated'], ['GA1', 'ga']]);
  assert.deepEqual(exported.design.sections[0].seat_types, [{ type: 'accessible', row: 'C', from: 1, to: 1 }]);

  // A problem is shown at its field, and goes once fixed.
  await page.fill(field('sections[0].seat_types[0].row'), 'Z');
  const rowError = page.locator('[data-error-for="sections[0].seat_types[0].row"]');
  await rowError.filter({ hasText: 'no row "Z"' }).waitFor();
  assert.equal(await page.getAttribute(field('sections[0].seat_types[0].row'), 'aria-invalid'), 'true');
  await page.fill(field('sections[0].seat_types[0].row'), 'C');
  await page.waitForFunction(() => document.querySelector('[data-error-for="sections[0].seat_types[0].row"]')?.textContent === '');

  // Edit: a fourth row, saved with PUT.
  await page.fill(field('sections[0].rows'), '4');
  await waitSummary(page, '80 places');
  await page.click('[data-action="save"]');
  await page.locator('#toast').filter({ hasText: 'Saved: 80 places' }).waitFor();
  const saved = await apiAs(ADMIN_TOKEN, 'GET', `/api/admin/venues/${id}`);
  assert.equal(saved.body.capacity, 80);
  assert.equal(saved.body.design.sections[0].rows, 4);

  // An event on the venue: the next save is refused, and the page says so.
  const now = Date.now();
  const ev = await apiAs(ADMIN_TOKEN, 'POST', '/api/admin/events', {
    venue_id: id, name: `${name} night`, event_date: new Date(now + 72 * 3600e3).toISOString(),
    sale_opens: new Date(now + 3600e3).toISOString(), prices: { default: 2500 },
  });
  assert.equal(ev.status, 201, JSON.stringify(ev.body));
  await page.fill(field('sections[0].rows'), '5');
  await waitSummary(page, '90 places');
  await page.click('[data-action="save"]');
  await page.locator('[data-code="venue_in_use"]').waitFor();
  assert.equal(await page.isVisible('[data-testid="venue-in-use"]'), true);
  assert.equal((await apiAs(ADMIN_TOKEN, 'GET', `/api/admin/venues/${id}`)).body.capacity, 80);
  assert.deepEqual(problems, [], 'the page logged errors');
});
