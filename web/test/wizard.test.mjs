// The event wizard in a real browser: an admin builds an event on a small
// New York venue step by step (details typed in the venue's time zone and
// an image, prices per section and a vip price, fees and tax, a presale
// with generated codes downloaded as CSV, the waiting room, a scheduled
// release of held-back seats), sees an API error next to its field,
// previews the fan's page, changes a price before the sale, and opens the
// sale; after that the prices are fixed (409) and the Edit link is gone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { launch, newPage, apiAs, asAdmin, ADMIN_TOKEN, BASE } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// A 2×2 PNG, red: the server decodes, scales and re-encodes what it gets.
const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==', 'base64');

// wall is instant t on New York's wall clock, as a datetime-local input wants.
const wall = (t) => new Date(t).toLocaleString('sv-SE', { timeZone: 'America/New_York' }).replace(' ', 'T').slice(0, 16);

test('wizard: build an event step by step, preview it, open the sale', async () => {
  const T0 = Date.now();
  const tag = Date.now().toString(36);
  const seats = [];
  for (const [section, from] of [['S', 1], ['C', 11]]) {
    for (let n = from; n < from + 10; n++) {
      seats.push({ section, row: '1', number: n, x: n * 12, y: section === 'S' ? 10 : 60, type: n === 1 ? 'vip' : 'standard', rank: n });
    }
  }
  const venue = await apiAs(ADMIN_TOKEN, 'POST', '/api/admin/venues', { name: `Wizard Hall ${tag}`, city: 'New York', time_zone: 'America/New_York',
    layout: { sections: [{ id: 'S', name: 'Stalls', tier: 'floor', rank: 0 }, { id: 'C', name: 'Circle', tier: 'upper', rank: 1 }], seats } });
  assert.equal(venue.status, 201, JSON.stringify(venue.body));

  const page = await newPage(browser);
  await asAdmin(page);
  // Straight to the wizard: newcomer.test.mjs follows the New event link.
  await page.goto('/admin/events/new');
  await page.getByRole('heading', { name: 'New event' }).waitFor();

  // Step 1: details. Noon on 1 June 2027 in New York is 16:00 UTC.
  const name = `Wizard Night ${tag}`;
  await page.getByLabel('Event name').fill(name);
  await page.getByLabel('Venue').selectOption(venue.body.id);
  await page.getByTestId('venue-zone').getByText('America/New_York').waitFor();
  await page.getByLabel('Artist').fill('The Wizards');
  await page.getByLabel('About the event').fill('An evening of tests.\n\nBring a friend.');
  await page.getByLabel('Image').setInputFiles({ name: 'poster.png', mimeType: 'image/png', buffer: png });
  await page.getByLabel('Show starts').fill('2027-06-01T12:00');
  await page.getByLabel('Sale opens').fill(wall(Date.now() + 3 * 86400e3));
  await page.getByRole('button', { name: 'Save and continue' }).click();

  // Step 2: prices, fees, tax; the event is created here.
  await page.getByRole('heading', { name: /Step 2 of 6/ }).waitFor();
  await page.getByLabel('Price of Stalls').fill('40');
  await page.getByLabel('Price of Circle').fill('25');
  await page.getByLabel('Price of vip seats').fill('90');
  await page.getByLabel('Service fee (% of the ticket)').fill('10');
  await page.getByLabel('Tax (%)').fill('8');
  await page.getByLabel('Hold back (% of seats)').fill('20');
  await page.getByRole('button', { name: 'Create event and continue' }).click();
  await page.getByRole('heading', { name: /Step 3 of 6/ }).waitFor();
  const id = page.url().match(/\/admin\/events\/(\d+)\/edit/)[1];
  let ev = (await apiAs(ADMIN_TOKEN, 'GET', `/api/events/${id}`)).body;
  assert.equal(ev.name, name);
  assert.equal(ev.event_date, '2027-06-01T16:00:00Z', 'the show time was typed in the venue time zone');
  assert.equal(ev.artist, 'The Wizards');
  assert.ok(ev.image_url, 'the image was uploaded with the new event');
  assert.equal(ev.fees.service_fee_bps, 1000);
  assert.equal(ev.fees.tax_bps, 800);
  const faces = async () => {
    const map = await (await fetch(`${BASE}/api/events/${id}/seatmap`)).json();
    return Object.fromEntries(map.seats.map((s) => [s.number, s.price_cents]));
  };
  let face = await faces();
  assert.deepEqual([face[1], face[2], face[11]], [9000, 4000, 2500]);

  // Step 3: a presale with five codes, downloaded.
  await page.getByLabel('Presale name').fill('Fan club');
  await page.getByLabel('Presale starts').fill(wall(Date.now() + 86400e3));
  await page.getByRole('button', { name: 'Add presale' }).click();
  await page.getByLabel('Codes to generate for Fan club').fill('5');
  await page.getByRole('button', { name: 'Generate codes' }).click();
  await page.locator('[data-codes="5"]').waitFor();
  const [download] = await Promise.all([page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download codes of Fan club (CSV)' }).click()]);
  const csv = (await readFile(await download.path(), 'utf8')).trim().split('\n');
  assert.equal(csv.length, 6, `a header and five codes: ${csv.join(' | ')}`);
  await page.getByRole('button', { name: 'Continue' }).click();

  // Step 4: the waiting room.
  await page.getByLabel('Waiting room on').check();
  await page.getByLabel('Fans let in per minute').fill('120');
  await page.getByRole('button', { name: 'Save waiting room and continue' }).click();
  await page.getByRole('heading', { name: /Step 5 of 6/ }).waitFor();
  ev = (await apiAs(ADMIN_TOKEN, 'GET', `/api/events/${id}`)).body;
  assert.equal(ev.waiting_room.enabled, true);
  assert.equal(ev.waiting_room.admit_per_minute, 120);

  // Step 5: two held-back seats go on sale on the morning of the show.
  await page.locator('[data-reserved]').first().waitFor();
  await page.getByLabel('Seats', { exact: true }).fill('2');
  await page.getByLabel('Release at').fill('2027-06-01T09:00');
  await page.getByRole('button', { name: 'Schedule release' }).click();
  await page.getByTestId('scheduled-releases').getByText('2 seats go on sale').waitFor();
  await page.getByRole('button', { name: 'Continue' }).click();

  // Step 6: the fan's page, as fans will see it.
  const preview = page.getByRole('region', { name: "Preview of the fan's event page" });
  await preview.getByRole('heading', { name }).waitFor();
  await preview.getByText('The sale opens').waitFor();
  await page.shot('wizard-preview');

  // Back to step 1: a sale after the show is refused next to its field
  // (the browser logs the 422: the only error the page may log).
  page.assertClean();
  const logged = [];
  page.on('console', (m) => { if (m.type() === 'error') logged.push(m.text()); });
  await page.getByRole('button', { name: '1. Details' }).click();
  await page.getByLabel('Sale opens').fill('2027-06-02T12:00');
  await page.getByRole('button', { name: 'Save and continue' }).click();
  await page.locator('[data-error-for="sale_opens"]', { hasText: 'sale_opens' }).waitFor();
  await page.getByLabel('Sale opens').fill(wall(Date.now() + 2 * 86400e3));
  await page.getByRole('button', { name: 'Save and continue' }).click();

  // Step 2 again: the prices change until the sale opens.
  await page.getByRole('heading', { name: /Step 2 of 6/ }).waitFor();
  assert.equal(await page.getByLabel('Price of Stalls').inputValue(), '40.00');
  await page.getByLabel('Price of Stalls').fill('45');
  await page.getByRole('button', { name: 'Save prices and continue' }).click();
  await page.getByRole('heading', { name: /Step 3 of 6/ }).waitFor();
  face = await faces();
  assert.deepEqual([face[1], face[2], face[11]], [9000, 4500, 2500]);

  await page.getByRole('button', { name: '6. Preview and open' }).click();
  await page.getByRole('button', { name: 'Open sale now' }).click();
  await page.getByRole('heading', { name: `Admin: ${name}` }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Edit', exact: true }).count(), 0, 'no Edit link once on sale');
  const late = await apiAs(ADMIN_TOKEN, 'PUT', `/api/admin/events/${id}/prices`, { prices: { default: 100 } });
  assert.equal(late.status, 409);
  assert.equal(late.body.error.code, 'sale_started');
  console.log(`METRIC wizard_seconds ${((Date.now() - T0) / 1000).toFixed(1)}`);
  assert.deepEqual(logged, ['Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)']);
});
