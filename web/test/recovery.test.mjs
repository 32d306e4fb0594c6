// Account recovery in a real browser. A forgotten password: the fan asks
// for a reset link, reads the mail (mailpit, the test's SMTP server),
// chooses a new password on the link's page, which ends the old session,
// signs in with the new one and buys a seat. Spent recovery codes: the fan
// gets a new set on the account page with a code from the app.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { launch, newPage, apiAs, signUpAPI, withSession, mailText, mailLink, BASE } from './helpers.mjs';

const EVENT = process.env.BOXOFFICE_EVENT;
const MAILPIT = process.env.MAILPIT_URL;
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// totp is an authenticator app's code for a base32 secret at time ms
// (RFC 6238: HMAC-SHA1, 30-second steps, six digits).
function totp(secret, ms) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of secret.replace(/=+$/, '')) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(ms / 30000)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const at = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(at) & 0x7fffffff) % 1000000).padStart(6, '0');
}

test('forgot password: reset from the mailed link, sign in with the new password, buy', { skip: !MAILPIT && 'no MAILPIT_URL' }, async () => {
  const fan = await signUpAPI('forgetful');
  const page = await newPage(browser);
  await page.goto('/signin');
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await page.getByLabel('Email').fill(fan.email);
  await page.getByRole('button', { name: 'Send the link' }).click();
  await page.getByText(/a link to reset its password is on its way/).waitFor();

  const fragment = await mailLink(fan.email, 'Reset your password', /#token=\S+/);
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

test('two-factor: new recovery codes from the account page', { skip: !MAILPIT && 'no MAILPIT_URL' }, async () => {
  const fan = await signUpAPI('codes');
  const enr = await apiAs(fan.token, 'POST', '/api/account/totp');
  assert.equal(enr.status, 201);
  const now = Date.now();
  // The enrolment takes the previous step's code, so the page's (this
  // step's) is later, as a code must be.
  const on = await apiAs(fan.token, 'POST', '/api/account/totp/confirm', { code: totp(enr.body.secret, now - 30000) });
  assert.equal(on.status, 200);
  const old = on.body.recovery_codes;

  const page = await newPage(browser);
  await withSession(page, fan.token);
  await page.goto('/account');
  await page.getByLabel('Code from the app').fill(totp(enr.body.secret, now));
  await page.getByRole('button', { name: 'Get new recovery codes' }).click();
  await page.getByText(/New recovery codes: the old ones no longer work/).waitFor();
  const fresh = await page.locator('[data-renewed-codes] code').allTextContents();
  await page.shot('recovery-codes-renewed');
  assert.equal(fresh.length, 10, 'ten new codes shown');
  assert.ok(fresh.every((c) => !old.includes(c)), 'none of the old codes');
  assert.match(await mailText(fan.email, 'Your recovery codes were replaced'), /The old codes no longer work/);

  const secondStep = async (code) => {
    const r = await fetch(BASE + '/api/sessions', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: fan.email, password: 'browser-test-1' }),
    });
    const { challenge } = await r.json();
    return (await fetch(BASE + '/api/sessions/second-step', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ challenge, code }),
    })).status;
  };
  assert.equal(await secondStep(old[0]), 401, 'an old recovery code is refused');
  assert.equal(await secondStep(fresh[0]), 200, 'a new one signs in');
  page.assertClean();
});
