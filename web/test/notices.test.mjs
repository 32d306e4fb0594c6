// Notices to fans in a real browser: an admin postpones an event from its
// admin page (which says how many holders the mail reaches); the holder
// opens the mailed link and takes the refund instead of the new date. A
// day-before reminder's unsubscribe link stops reminders, and the account
// page's switch shows it and turns them back on. Events are made here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, apiAs, signUpAPI, asAdmin, withSession, mailLink, ADMIN_TOKEN } from './helpers.mjs';

const MAILPIT = process.env.MAILPIT_URL;
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// eventAt makes an event of the admin's on sale now, at date.
async function eventAt(name, date) {
  const venue = await apiAs(ADMIN_TOKEN, 'POST', '/api/admin/venues', { name: `${name} hall ${Date.now()}`, preset: 'theater' });
  assert.equal(venue.status, 201, JSON.stringify(venue.body));
  const ev = await apiAs(ADMIN_TOKEN, 'POST', '/api/admin/events', {
    venue_id: venue.body.id, name: `${name} ${Date.now()}`, prices: { default: 4000 }, reserve_share: 0,
    sale_opens: new Date(Date.now() - 60000).toISOString(), event_date: date.toISOString(),
  });
  assert.equal(ev.status, 201, JSON.stringify(ev.body));
  return ev.body.id;
}

async function buy(fan, event, quantity) {
  const hold = await apiAs(fan.token, 'POST', `/api/events/${event}/holds`, { best_available: { quantity } });
  assert.equal(hold.status, 201, JSON.stringify(hold.body));
  const pay = await apiAs(fan.token, 'POST', `/api/holds/${hold.body.id}/checkout`);
  const paid = await apiAs(fan.token, 'POST', `/api/payments/${pay.body.payment.id}/confirm`, { card_number: '4242424242424242' });
  assert.equal(paid.body.status, 'succeeded', JSON.stringify(paid.body));
  return paid.body.order_id;
}

// localInput is a date as a datetime-local input takes it.
const localInput = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);

test('postpone: the admin moves the event, the holder takes the refund from the mail', { skip: !MAILPIT && 'no MAILPIT_URL' }, async () => {
  const event = await eventAt('Postponed', new Date(Date.now() + 2 * 86400000));
  const fan = await signUpAPI('moved-fan');
  const order = await buy(fan, event, 2);

  const admin = await newPage(browser);
  await asAdmin(admin);
  await admin.goto(`/admin/events/${event}`);
  await admin.getByText('A new date is mailed to 1 ticket holder(s); cancelling mails 1 fan(s) their refund.').waitFor();
  await admin.getByLabel('New date').fill(localInput(new Date(Date.now() + 9 * 86400000)));
  await admin.getByLabel('Place or doors').fill('Hall B, doors at 19:00');
  await admin.getByLabel('Reason').fill('The singer is ill');
  await admin.getByRole('button', { name: 'Postpone / move' }).click();
  await admin.getByText(/Hall B, doors at 19:00 \(refunds until/).waitFor();
  await admin.shot('notices-admin-postponed');
  admin.assertClean();

  const link = await mailLink(fan.email, 'New date: ', /\/events\/\d+\/refund-choice#token=\S+/);
  const page = await newPage(browser); // not signed in: the link is enough
  await page.goto(link);
  await page.getByRole('heading', { name: 'Your event has moved' }).waitFor();
  await page.getByText('Where: Hall B, doors at 19:00').waitFor();
  await page.getByRole('button', { name: /Refund my 2 ticket\(s\): \$80\.00/ }).click();
  await page.getByText(/Refunded: \$80\.00 goes back to the card that paid/).waitFor();
  await page.shot('notices-refunded');
  page.assertClean();

  const o = await apiAs(fan.token, 'GET', `/api/orders/${order}`);
  assert.deepEqual(o.body.tickets.map((t) => t.status), ['void', 'void'], 'the refunded tickets no longer admit');
  const again = await apiAs(fan.token, 'POST', `/api/events/${event}/refund-offer/accept`, { token: link.split('#token=')[1] });
  assert.equal(again.status, 409, 'the link works once');
});

test('reminders: the unsubscribe link stops them; the account page turns them back on', { skip: !MAILPIT && 'no MAILPIT_URL' }, async () => {
  // Once the fan holds a ticket, the show moves to a day and a few seconds
  // away: the reminder of that date is due at once.
  const event = await eventAt('Tomorrow', new Date(Date.now() + 3 * 86400000));
  const fan = await signUpAPI('reminded-fan');
  await buy(fan, event, 1);
  const moved = await apiAs(ADMIN_TOKEN, 'POST', `/api/admin/events/${event}/reschedule`,
    { event_date: new Date(Date.now() + 86400000 + 8000).toISOString() });
  assert.equal(moved.status, 201, JSON.stringify(moved.body));
  const link = await mailLink(fan.email, 'Tomorrow: ', /\/unsubscribe#token=\S+/);

  const page = await newPage(browser);
  await page.goto(link);
  await page.getByRole('button', { name: 'Stop sending me reminders' }).click();
  await page.getByText(/Done: no more reminders/).waitFor();
  assert.equal((await apiAs(fan.token, 'GET', '/api/account/reminders')).body.reminders, false);

  await withSession(page, fan.token);
  await page.goto('/account');
  const box = page.getByLabel(/Mail me the day before a show/);
  await box.waitFor();
  assert.equal(await box.isChecked(), false, 'the account page shows reminders off');
  await box.check();
  await page.getByText('Reminders are on.').waitFor();
  assert.equal((await apiAs(fan.token, 'GET', '/api/account/reminders')).body.reminders, true);
  await page.shot('notices-reminders');
  page.assertClean();
});
