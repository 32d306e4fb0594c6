// A forgotten password in a real browser: the fan asks for a reset link,
// reads the mail (mailpit, the test's SMTP server), chooses a new password
// on the link's page, which ends the old session, signs in with the new
// one and buys a seat.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, apiAs, signUpAPI } from './helpers.mjs';

const EVENT = process.env.BOXOFFICE_EVENT;
const MAILPIT = process.env.MAILPIT_URL;
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// mailLink waits for a mail to addr whose subject has subject and returns
// the fragment of its link (#token=...).
async function mailLink(addr, subject) {
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    const list = await (await fetch(`${MAILPIT}/api/v1/search?query=${encodeURIComponent(`to:"${addr}"`)}`)).json();
    const m = list.messages.find((x) => x.Subject.includes(subject));
    if (m) {
      const msg = await (await fetch(`${MAILPIT}/api/v1/message/${m.ID}`)).json();
      const link = msg.Text.match(/#token=\S+/);
      assert.ok(link, `a link in the mail:\n${msg.Text}`);
      return link[0];
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`no mail "${subject}" to ${addr}`);
}

test('forgot password: reset from the mailed link, sign in with the new password, buy', { skip: !MAILPIT && 'no MAILPIT_URL' }, async () => {
  const fan = await signUpAPI('forgetful');
  const page = await newPage(browser);
  await page.goto('/signin');
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await page.getByLabel('Email').fill(fan.email);
  await page.getByRole('button', { name: 'Send the link' }).click();
  await page.getByText(/a link to reset its password is on its way/).waitFor();

  const fragment = await mailLink(fan.email, 'Reset your password');
  await page.goto(`/reset-password${fragment}`);
  await page.getByLabel(/New password/).fill('a-new-browser-password');
  await page.getByRole('button', { name: 'Set the password' }).click();
  await page.getByText('Your password is changed.').waitFor();
  await page.shot('recovery-reset');
  assert.equal((await apiAs(fan.token, 'GET', '/api/me')).status, 401, 'the session from before the reset has ended');

  await page.getByRole('link', { name: 'Sign in' }).last().click();
  await page.getByLabel('Email').fill(fan.email);
  await page.getByLabel('Password').fill('a-new-browser-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();

  await page.goto(`/events/${EVENT}`);
  await page.waitForFunction(() => window.__boxoffice && window.__boxoffice.view.stateOf(0) !== '?');
  const idx = await page.evaluate(() => {
    const { view } = window.__boxoffice;
    for (let i = 0; i < view.n; i++) if (view.stateOf(i) === 'a') return i;
    return -1;
  });
  assert.ok(idx >= 0, 'an available seat');
  await page.evaluate((i) => { const { view } = window.__boxoffice; const p = view.screenOf(i); view.zoomAt(8, p.x, p.y); }, idx);
  await page.waitForTimeout(100);
  const p = await page.evaluate((i) => window.__boxoffice.view.screenOf(i), idx);
  await page.locator('canvas[role=application]').click({ position: { x: p.x, y: p.y } });
  await page.getByRole('button', { name: 'Hold 1 seat' }).click();
  await page.waitForURL(/\/checkout\//);
  await page.getByLabel('Card number').fill('4242 4242 4242 4242');
  await page.getByRole('button', { name: /^Pay / }).click();
  await page.getByRole('heading', { name: 'Thank you!' }).waitFor();
  await page.shot('recovery-bought');
  page.assertClean();
});
