// /verify.html redoes the waiting room's draw in the browser (WebCrypto) and
// says whether the published order is the draw's. First on the worked
// example of docs/fairness.md, served in place of the API (so the browser's
// code must agree with the Go numbers), then on copies with one input
// changed, then on a real waiting room of the running server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { BASE, launch, newPage } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// The worked example: seed, beacon, five entries; the fifth joiner drew
// number 1, then the third, second, fourth and first (fairdraw's
// TestDrawVector pins the same).
function example() {
  const seed = Buffer.from('a seed that is 32 bytes long....');
  const beacon = 'drand round 1000';
  const entries = [1, 2, 3, 4, 5].map((i) => createHmac('sha256', 'key').update(`event:7:${i}`).digest('hex'));
  return {
    event_id: '7001', algorithm: 'boxoffice-draw-v1',
    seed_commitment: createHash('sha256').update(Buffer.concat([seed, Buffer.from(beacon)])).digest('hex'),
    beacon, committed_at: '2026-12-01T10:00:00Z', drawn_at: '2026-12-01T12:00:00Z',
    seed: seed.toString('hex'), entries, order: [4, 2, 1, 3, 0].map((i) => entries[i]),
  };
}

// verdict waits for the page's answer after a check started.
async function verdict(page) {
  await page.waitForFunction(() => {
    const r = document.getElementById('result');
    return r && !r.hidden && !document.getElementById('verdict').textContent.includes('Checking');
  });
  const result = page.locator('#result');
  return { state: await result.getAttribute('data-state'), text: await result.innerText() };
}

test('verify page: the worked example checks out, any change is caught, a real draw matches', async () => {
  const started = Date.now();
  const page = await newPage(browser);
  let served = example();
  await page.route('**/api/events/7001/queue/proof', (route) => route.fulfill({ json: served }));

  const ex = example();
  await page.goto(`/verify.html?event=7001&hash=${ex.entries[4]}`);
  let v = await verdict(page);
  assert.equal(v.state, 'ok', v.text);
  assert.match(v.text, /Your proof hash is number 1 of 5\./);
  await page.shot('verify-ok');

  // Each input changed in turn, checked by the page's own module.
  const changes = {
    'two numbers swapped': (p) => { [p.order[0], p.order[1]] = [p.order[1], p.order[0]]; return 'differs'; },
    'two joins swapped': (p) => { [p.entries[0], p.entries[1]] = [p.entries[1], p.entries[0]]; return 'differs'; },
    'one entry changed': (p) => { p.entries[2] = 'ab'.repeat(32); return 'differs'; },
    'another beacon': (p) => { p.beacon = 'drand round 1001'; return 'invalid'; },
    'another seed': (p) => { p.seed = '00'.repeat(32); return 'invalid'; },
  };
  for (const [name, change] of Object.entries(changes)) {
    const p = example();
    const want = change(p);
    const got = await page.evaluate(async (proof) => (await import('/js/fairdraw.js')).verifyProof(proof), p);
    assert.equal(got.state, want, `${name}: ${got.message}`);
  }
  // And on the page: the server now publishes two numbers swapped.
  served = example();
  [served.order[0], served.order[1]] = [served.order[1], served.order[0]];
  await page.getByRole('button', { name: 'Check' }).click();
  v = await verdict(page);
  assert.equal(v.state, 'differs', v.text);
  assert.match(v.text, /Number 1 is .* but .* when recomputed \(2 of 5 numbers differ\)/);
  console.log(`METRIC verify_examples_ms=${Date.now() - started}`);

  // A real waiting room: the server draws its pre-queue within seconds of
  // the sale opening (the admitter's first ticks).
  const event = process.env.BOXOFFICE_ROOM_EVENT;
  assert.ok(event, 'BOXOFFICE_ROOM_EVENT is set by the Go test');
  let proof;
  for (let i = 0; i < 60; i++) {
    proof = await (await fetch(`${BASE}/api/events/${event}/queue/proof`)).json();
    if (proof.seed) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.ok(proof.seed, 'the room event was drawn');
  await page.getByLabel('Event').fill(event);
  await page.getByLabel('Your proof hash').fill('');
  await page.getByRole('button', { name: 'Check' }).click();
  v = await verdict(page);
  assert.equal(v.state, 'ok', v.text);
  assert.match(v.text, new RegExp(`The published order of ${proof.entries.length} fans is the recomputed one`));
  assert.ok(v.text.includes(proof.seed_commitment));
  assert.equal(new URL(page.url()).search, `?event=${event}`);
  await page.shot('verify-real');
  console.log(`METRIC verify_total_ms=${Date.now() - started} fans=${proof.entries.length}`);
  page.assertClean();
});
