// run.mjs: runs the k6 scenarios' logic under Node for a few iterations
// against a live server, then checks the outcome. `make test` runs it
// (through cmd/boxoffice's TestLoadScenarios) with BASE_URL and EVENT set.
//   node --experimental-websocket loadtest/k6/node/run.mjs
import assert from 'node:assert/strict';
import { makeClient } from './client.mjs';
import { browse, flashSale, watch } from '../lib/scenarios.js';
import { ROUTES } from '../lib/routes.js';

const BASE = process.env.BASE_URL;
const EVENT = process.env.EVENT;
const FANS = Number(process.env.FANS || 6);
assert.ok(BASE && EVENT, 'BASE_URL and EVENT are required');

// Every route the scenarios call is in the published contract.
const doc = await (await fetch(`${BASE}/api/openapi.json`)).json();
for (const [name, [method, p]] of Object.entries(ROUTES)) {
  assert.ok(doc.paths[p]?.[method.toLowerCase()], `route ${name} ${method} ${p} is not in /api/openapi.json`);
}

const metrics = {};
const client = makeClient(BASE, metrics);

await browse(client, { event: EVENT });

// Watch the seat map while fans buy: the watcher must see frames.
const watching = watch(client, { event: EVENT, seconds: 4 });
await new Promise((r) => setTimeout(r, 300));
const results = await Promise.all(Array.from({ length: FANS }, async (_, i) => {
  const email = `k6-node-${Date.now()}-${i}@example.test`;
  const signed = await client.post('/api/accounts', { email, password: 'load-test-password', name: `Node fan ${i}` });
  assert.equal(signed.status, 201);
  return flashSale(client, { event: EVENT, token: signed.json.token, seats: 1 + (i % 3), decline: i === 0 ? 1 : 0, queueSeconds: 30 });
}));
const frames = await watching;

const errors = Object.entries(metrics).filter(([k]) => k.startsWith('errors'));
console.log(JSON.stringify({ fans: FANS, orders: metrics.orders || 0, declines: metrics.declines || 0, frames, errors }));
assert.deepEqual(errors, [], 'no scenario step failed');
assert.equal(metrics.declines, 1, 'the fan paying with the decline card was declined');
assert.equal(metrics.orders, FANS - 1, 'every other fan got an order');
assert.ok(frames > 0, 'the watcher saw seat frames');
assert.equal(metrics.failed_checks, undefined, 'browse checks passed');
