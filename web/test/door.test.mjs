// The scan page at a door, in a browser without BarcodeDetector (as iOS
// Safari and Firefox are): the camera (a canvas stream showing a ticket's
// QR code, standing in for a phone's camera) is read by the vendored jsQR
// and admits the ticket. Then the network drops: scans wait on the device,
// shown as pending, never as admitted; back online they are checked in the
// order made: the replayed scan of the ticket already in is reported as
// already in, the other admitted, and scanning that one again is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, apiAs, signIn, signUpAPI } from './helpers.mjs';

const EVENT = process.env.BOXOFFICE_EVENT;
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// buyTicket buys one seat of the demo event through the API, as a script
// would, and returns the ticket id.
async function buyTicket(fan) {
  const hold = await apiAs(fan.token, 'POST', `/api/events/${EVENT}/holds`, { best_available: { quantity: 1 } });
  assert.equal(hold.status, 201, JSON.stringify(hold.body));
  const pay = await apiAs(fan.token, 'POST', `/api/holds/${hold.body.id}/checkout`);
  const paid = await apiAs(fan.token, 'POST', `/api/payments/${pay.body.payment.id}/confirm`, { card_number: '4242424242424242' });
  assert.equal(paid.body.status, 'succeeded', JSON.stringify(paid.body));
  const order = await apiAs(fan.token, 'GET', `/api/orders/${paid.body.order_id}`);
  return order.body.tickets[0].id;
}

async function entryCode(fan, ticket) {
  const r = await apiAs(fan.token, 'GET', `/api/tickets/${ticket}/code`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

// fakeCamera removes BarcodeDetector and makes getUserMedia answer with a
// canvas stream on which window.__showToCamera(src) draws an image.
function fakeCamera() {
  delete window.BarcodeDetector;
  const canvas = document.createElement('canvas');
  canvas.width = 480; canvas.height = 360;
  let img = null;
  const draw = () => {
    const g = canvas.getContext('2d');
    g.fillStyle = '#fff';
    g.fillRect(0, 0, canvas.width, canvas.height);
    if (img) g.drawImage(img, 110, 50, 260, 260);
  };
  setInterval(draw, 100);
  window.__showToCamera = (src) => new Promise((resolve, reject) => {
    const i = new Image();
    i.onload = () => { img = i; draw(); resolve(); };
    i.onerror = reject;
    i.src = src;
  });
  navigator.mediaDevices.getUserMedia = async () => { draw(); return canvas.captureStream(10); };
}

test('door: jsQR reads the camera; offline scans wait, sync, and never admit twice', async () => {
  const fan = await signUpAPI('door-fan');
  const ticketA = await buyTicket(fan);
  const ticketB = await buyTicket(fan);
  const page = await newPage(browser);
  await page.context().addInitScript(fakeCamera);
  await signIn(page, { email: process.env.BOXOFFICE_SCANNER_EMAIL });
  await page.goto('/scan');
  await page.getByLabel('Event').selectOption(EVENT);
  await page.getByLabel('Entrance', { exact: true }).fill('Door test');
  await page.getByText('QR reader: jsQR').waitFor();
  assert.equal(await page.evaluate(() => 'BarcodeDetector' in window), false);

  // The camera shows ticket A's QR code: jsQR reads it and it admits.
  const codeA = await entryCode(fan, ticketA);
  await page.evaluate((src) => window.__showToCamera(src), codeA.qr_png);
  await page.getByRole('button', { name: 'Use camera' }).click();
  await page.getByText('✓ Admitted').waitFor({ timeout: 10000 });
  assert.equal(await page.locator('[data-result]').getAttribute('data-result'), 'ok');
  await page.getByRole('button', { name: 'Stop camera' }).click();
  await page.shot('door-camera-admitted');
  page.assertClean();

  // Offline: the page says so; both scans wait and neither shows admitted.
  await page.context().setOffline(true);
  await page.waitForSelector('[data-testid="net-status"][data-online="false"]');
  await page.getByLabel('Ticket code').fill(codeA.code);
  await page.getByRole('button', { name: 'Check in' }).click();
  await page.getByText('Pending: will be checked when online').waitFor();
  const codeB = (await entryCode(fan, ticketB)).code;
  await page.getByLabel('Ticket code').fill(codeB);
  await page.getByRole('button', { name: 'Check in' }).click();
  await page.getByText(/2 waiting/).waitFor();
  assert.equal(await page.locator('[data-result]').getAttribute('data-result'), 'pending');
  assert.equal(await page.getByText('✓ Admitted').count(), 0, 'a scan made offline is not shown as admitted');
  await page.shot('door-offline');

  // Back online: the queue is checked in order: A was already in, B admits.
  await page.context().setOffline(false);
  await page.locator('li[data-outcome="already_in"]').waitFor({ timeout: 15000 });
  await page.locator('li[data-outcome="admitted"]').waitFor({ timeout: 15000 });
  await page.waitForSelector('[data-testid="net-status"][data-online="true"]');
  assert.doesNotMatch(await page.getByTestId('net-status').textContent(), /waiting/);
  await page.shot('door-synced');

  // Ticket B again, online: refused as already in.
  await page.getByLabel('Ticket code').fill(codeB);
  await page.getByRole('button', { name: 'Check in' }).click();
  await page.getByText('✗ Already checked in').waitFor();
  await page.getByText(/^Checked in at .*\(Door test\)$/).waitFor();
  const t = await apiAs(fan.token, 'GET', `/api/tickets/${ticketB}`);
  assert.equal(t.body.status, 'checked_in');
  await page.context().close();
});
