// The API reference at /api/docs: the vendored Swagger UI renders the
// server's OpenAPI document and runs a request with "Try it out", under the
// strictest Content-Security-Policy the site may send ('self' only, no
// inline code, no data: URLs), which this test puts on every response
// whatever the server sends. Any CSP violation is a console error and fails it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage } from './helpers.mjs';

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('API reference: every operation rendered, a request tried, under a strict CSP', async () => {
  const page = await newPage(browser);
  await page.route('**/*', async (route) => {
    const res = await route.fetch();
    await route.fulfill({ response: res, headers: { ...res.headers(), 'content-security-policy': CSP } });
  });
  await page.goto('/api/docs');
  await page.locator('.opblock').first().waitFor();
  const doc = await (await fetch(new URL('/api/openapi.json', page.url()))).json();
  const ops = Object.values(doc.paths).flatMap((item) => Object.keys(item).filter((k) => k !== 'parameters'));
  assert.equal(await page.locator('.opblock').count(), ops.length, 'one block per operation of openapi.json');

  const events = page.locator('.opblock-get').filter({ has: page.locator('[data-path="/api/events"]') });
  await events.locator('.opblock-summary').click();
  await events.getByRole('button', { name: 'Try it out' }).click();
  await events.getByRole('button', { name: 'Execute' }).click();
  await events.locator('.live-responses-table tr.response .response-col_status').first().waitFor();
  assert.equal((await events.locator('.live-responses-table tr.response .response-col_status').first().innerText()).trim(), '200');
  await page.shot('api-docs');
  page.assertClean();
});
