// helpers.mjs: what every browser test needs: Debian's Chromium driven by
// playwright-core (never a downloaded browser), a page that fails the test
// on any console error, the server's URL and API calls as another fan.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

export const BASE = process.env.BOXOFFICE_URL;
export const ARTIFACTS = process.env.BOXOFFICE_ARTIFACTS || path.resolve('test-artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

export async function launch() {
  assert.ok(BASE, 'BOXOFFICE_URL is set by the Go test that starts the server');
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

// newPage opens a page whose console errors and page errors are collected;
// call page.assertClean() at the end of the test.
// base is the server the page opens (default BOXOFFICE_URL).
export async function newPage(browser, viewport = { width: 1280, height: 900 }, base = BASE) {
  const context = await browser.newContext({ viewport, baseURL: base });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.assertClean = () => assert.deepEqual(problems, [], 'the page logged errors');
  page.shot = (name) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
  return page;
}

// apiAs calls the API with a bearer token, as scripts do.
export async function apiAs(token, method, p, body) {
  const res = await fetch(BASE + p, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

// ADMIN_TOKEN is a session of the browser admin, signed in by the Go test
// with its second factor (staff need one), for the API calls of specs.
export const ADMIN_TOKEN = process.env.BOXOFFICE_ADMIN_TOKEN;

// asAdmin makes a page's context signed in as that admin: the session
// cookie the sign-in page would have set.
export async function asAdmin(page, base = BASE) {
  assert.ok(ADMIN_TOKEN, 'the Go test passes BOXOFFICE_ADMIN_TOKEN');
  await withSession(page, ADMIN_TOKEN, base);
}

// withSession signs the page's browser in with a session token, as the
// sign-in page's cookies would.
export async function withSession(page, token, base = BASE) {
  await page.context().addCookies([
    { name: 'bo_session', value: token, url: base, httpOnly: true, sameSite: 'Lax' },
    { name: 'bo_signed_in', value: '1', url: base, sameSite: 'Lax' },
  ]);
}

// signIn signs who (an account with the password browser-test-1, as
// signUpAPI makes) in through the sign-in page.
export async function signIn(page, who) {
  await page.goto('/signin');
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill('browser-test-1');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

// mailText waits for a mail to addr (in mailpit, the tests' SMTP server)
// whose subject starts with subject, and returns its text.
export async function mailText(addr, subject) {
  const mailpit = process.env.MAILPIT_URL;
  const deadline = Date.now() + 40000;
  while (Date.now() < deadline) {
    const list = await (await fetch(`${mailpit}/api/v1/search?query=${encodeURIComponent(`to:"${addr}"`)}`)).json();
    const m = list.messages.find((x) => x.Subject.startsWith(subject));
    if (m) return (await (await fetch(`${mailpit}/api/v1/message/${m.ID}`)).json()).Text;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`no mail "${subject}" to ${addr}`);
}

// mailLink is the first match of re in that mail, a link or its fragment.
export async function mailLink(addr, subject, re) {
  const text = await mailText(addr, subject);
  const link = text.match(re);
  assert.ok(link, `a link in the mail:\n${text}`);
  return link[0];
}

export async function signUpAPI(name) {
  const email = `${name}-${Date.now()}-${Math.random().toString(16).slice(2, 8)}@example.test`;
  const res = await fetch(BASE + '/api/accounts', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: 'browser-test-1', name }),
  });
  assert.equal(res.status, 201);
  return { email, ...(await res.json()) };
}

// pixelAt returns the [r, g, b] the seat map drew for seat idx: left of its
// centre, clear of the pattern mark drawn in the middle.
export function pixelAt(page, idx) {
  return page.evaluate((i) => {
    const { view } = window.__boxoffice;
    const p = view.screenOf(i);
    const x = p.x - view.seatSize() * 0.35;
    const d = view.ctx.getImageData(Math.round(x * view.dpr), Math.round(p.y * view.dpr), 1, 1).data;
    return [d[0], d[1], d[2]];
  }, idx);
}

export const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
