// A newcomer sells a first show, following the README's "Sell your first
// show" steps in the browser: as the admin, build a venue in the venue
// builder, run the event wizard and open the sale; a fan (another browser) signs up and buys two
// seats with the test card; the admin finds the order, refunds it and
// downloads the orders CSV. The wall time is logged (a METRIC line), not
// asserted. The admin is signed in with the test's session (a real
// newcomer signs in with a second factor, as the README says).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { launch, newPage, asAdmin } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const wall = (t, zone) => new Date(t).toLocaleString('sv-SE', { timeZone: zone }).replace(' ', 'T').slice(0, 16);

test('newcomer: set up and sell a show, refund it, export the orders', async () => {
  const started = Date.now();
  const tag = Date.now().toString(36);
  const admin = await newPage(browser);
  await asAdmin(admin);

  // README step 2: a venue, drawn in the venue builder.
  await admin.goto('/admin');
  await admin.getByRole('link', { name: 'Venues' }).click({ timeout: 90000 });
  await admin.getByRole('link', { name: 'New venue' }).click();
  await admin.fill('[data-field="name"]', `First Theater ${tag}`);
  await admin.fill('[data-field="city"]', 'Lisbon');
  await admin.fill('[data-field="time_zone"]', 'Europe/Lisbon');
  await admin.getByRole('button', { name: 'Add seated section' }).click();
  await admin.fill('[data-field="sections[0].rows"]', '4');
  await admin.waitForFunction(() => document.querySelector('[data-testid="venue-summary"]')?.textContent.startsWith('40 places'));
  await admin.getByRole('button', { name: 'Save venue' }).click();
  await admin.waitForURL(/\/admin\/venues\/\d+$/);
  const venueID = admin.url().match(/(\d+)$/)[1];

  // README step 3: the wizard.
  await admin.goto('/admin');
  await admin.getByRole('link', { name: 'New event' }).click({ timeout: 90000 });
  const name = `First Show ${tag}`;
  await admin.getByLabel('Event name').fill(name);
  await admin.getByLabel('Venue').selectOption(venueID);
  await admin.getByLabel('Show starts').fill(wall(Date.now() + 30 * 86400e3, 'Europe/Lisbon'));
  await admin.getByLabel('Sale opens').fill(wall(Date.now() + 7 * 86400e3, 'Europe/Lisbon'));
  await admin.getByRole('button', { name: 'Save and continue' }).click();
  const priceInputs = admin.getByLabel(/^Price of /);
  await priceInputs.first().waitFor();
  for (const input of await priceInputs.all()) {
    if (!(await input.inputValue()) && await input.getAttribute('required') !== null) await input.fill('30');
  }
  await admin.getByLabel('Hold back (% of seats)').fill('0');
  await admin.getByRole('button', { name: 'Create event and continue' }).click();
  await admin.getByRole('heading', { name: /Step 3 of 6/ }).waitFor();
  const id = admin.url().match(/\/admin\/events\/(\d+)\/edit/)[1];
  await admin.getByRole('button', { name: 'Continue' }).click();
  await admin.getByRole('button', { name: 'Save waiting room and continue' }).click();
  await admin.getByRole('heading', { name: /Step 5 of 6/ }).waitFor();
  await admin.getByRole('button', { name: 'Continue' }).click();
  await admin.getByRole('region', { name: "Preview of the fan's event page" }).getByRole('heading', { name }).waitFor();
  await admin.getByRole('button', { name: 'Open sale now' }).click();
  await admin.getByRole('heading', { name: `Admin: ${name}` }).waitFor();

  // README step 4: a fan buys two seats with the test card.
  const fan = await newPage(browser);
  const email = `first-fan-${tag}@example.test`;
  await fan.goto('/signup');
  await fan.getByLabel('Name').fill('First Fan');
  await fan.getByLabel('Email').fill(email);
  await fan.getByLabel(/^Password/).fill('first-fan-password');
  await fan.getByRole('button', { name: 'Sign up' }).click();
  await fan.getByRole('button', { name: 'Sign out' }).waitFor();
  await fan.goto(`/events/${id}`);
  await fan.getByRole('heading', { name }).waitFor();
  await fan.getByLabel('Number of seats').selectOption('2');
  await fan.getByRole('button', { name: 'Find best seats' }).click();
  await fan.waitForURL(/\/checkout\//);
  await fan.getByLabel('Card number').fill('4242 4242 4242 4242');
  await fan.getByRole('button', { name: /^Pay / }).click();
  await fan.waitForURL(/\/orders\//);
  const order = fan.url().split('/orders/')[1];

  // README step 5: find the order, refund it, download the orders CSV.
  await admin.goto('/admin/orders');
  await admin.getByLabel('Search orders').fill(email);
  await admin.getByRole('button', { name: 'Search' }).click();
  await admin.getByRole('link', { name: order.slice(0, 8) }).click();
  await admin.getByRole('heading', { name: `Order ${order.slice(0, 8)}` }).waitFor();
  for (const box of await admin.getByLabel(/^Refund /).all()) await box.check();
  await admin.getByLabel('Reason').fill('Cannot come');
  await admin.getByRole('button', { name: 'Refund' }).click();
  await admin.waitForFunction(() => Number(document.querySelector('[data-refundable]')?.dataset.refundable) === 0, null, { timeout: 15000 });
  const [download] = await Promise.all([admin.waitForEvent('download'), admin.locator('[data-export="orders"]').click()]);
  const csv = await readFile(await download.path(), 'utf8');
  assert.ok(csv.includes(email), 'the orders export names the fan');
  assert.ok(csv.includes(order), 'and the order');

  console.log(`METRIC newcomer_wall_seconds ${((Date.now() - started) / 1000).toFixed(1)}`);
  admin.assertClean();
  fan.assertClean();
});
