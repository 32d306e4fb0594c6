// scenarios.js: what a fan, a watcher and a browser do, written once as async
// functions over a small client. In k6 the client's calls return values at
// once (await is then a no-op); in Node they return promises. So the same
// logic is what `make test` runs under Node against a live server and what
// operators run with k6 against a deployment.
//
// client: { get(url, tag), post(url, body, headers, tag) → {status, json},
//           sleep(seconds), sha256hex(s), metric(name, value, tags),
//           socket(url, onFrame, seconds) → frames received, now() }
import { path } from './routes.js';
import { solve } from './pow.js';

// browse: the catalog pages a curious fan loads.
export async function browse(c, cfg) {
  const list = await c.get(path('events'), 'events');
  check(c, list.status === 200, 'events listed');
  const e = cfg.event;
  check(c, (await c.get(path('event', { event: e }), 'event')).status === 200, 'event detail');
  check(c, (await c.get(path('seatmap', { event: e }), 'seatmap')).status === 200, 'seat map');
  check(c, (await c.get(path('availability', { event: e }), 'availability')).status === 200, 'availability');
}

// flashSale: one fan through the on-sale: waiting room (when on), hold,
// checkout, pay. cfg: { event, token, seats (1-8), decline (0..1), thinkSeconds }.
export async function flashSale(c, cfg) {
  const headers = { Authorization: `Bearer ${cfg.token}` };
  const ev = await c.get(path('event', { event: cfg.event }), 'event', headers);
  if (ev.status !== 200) return fail(c, 'event', ev.status);
  let admission = null;
  if (ev.json.waiting_room && ev.json.waiting_room.enabled) {
    admission = await waitTurn(c, cfg, headers);
    if (!admission) return fail(c, 'not_admitted', 0);
  }
  await c.sleep(cfg.thinkSeconds || 0);
  const holdHeaders = admission ? { ...headers, 'X-Admission-Token': admission } : headers;
  // Fans asking for best available at the same moment are offered the same
  // seats (the server picks from a snapshot about a second old), so a 409
  // is normal in a spike: like a person, try again after a moment.
  let held;
  for (let attempt = 0; attempt < (cfg.holdAttempts || 4); attempt++) {
    if (attempt > 0) await c.sleep(0.2 + Math.random() * 0.4);
    const t0 = c.now();
    held = await c.post(path('hold', { event: cfg.event }), { best_available: { quantity: cfg.seats || 2 } }, holdHeaders, 'hold');
    c.metric('hold_ms', c.now() - t0, { status: String(held.status) });
    if (held.status !== 409) break;
    c.metric('hold_conflicts', 1, {});
  }
  if (held.status !== 201) return fail(c, 'hold', held.status);
  await c.sleep(cfg.thinkSeconds || 0);
  const co = await c.post(path('checkout', { hold: held.json.id }), {}, headers, 'checkout');
  if (co.status !== 201) return fail(c, 'checkout', co.status);
  const card = Math.random() < (cfg.decline || 0) ? '4000000000000002' : '4242424242424242';
  const paid = await c.post(path('confirm', { payment: co.json.payment.id }), { card_number: card }, headers, 'confirm');
  // A decline is 200 {status: "declined"} (the seats are released), not an
  // error status; anything else without an order is a failure.
  if (paid.status !== 200 || !paid.json) return fail(c, 'confirm', paid.status);
  if (paid.json.order_id) {
    c.metric('orders', 1, {});
    return true;
  }
  if (paid.json.status === 'declined') {
    c.metric('declines', 1, {});
    return false;
  }
  return fail(c, 'confirm', `200 ${paid.json.status}`);
}

// waitTurn solves the proof of work, joins the queue and polls until
// admitted; it returns the admission token, or null after cfg.queueSeconds.
async function waitTurn(c, cfg, headers) {
  const ch = await c.get(path('challenge', { event: cfg.event }), 'challenge', headers);
  if (ch.status !== 200) return null;
  const solution = solve(ch.json.challenge, ch.json.difficulty, c.sha256hex);
  const joined = await c.post(path('join', { event: cfg.event }),
    { challenge: ch.json.challenge, signature: ch.json.signature, solution }, headers, 'join');
  if (joined.status !== 201 && joined.status !== 200) return null;
  const deadline = c.now() + (cfg.queueSeconds || 120) * 1000;
  while (c.now() < deadline) {
    const me = await c.get(path('queueMe', { event: cfg.event }), 'queue_me', headers);
    if (me.status === 200 && me.json.state === 'admitted' && me.json.admission_token) return me.json.admission_token;
    await c.sleep(1);
  }
  return null;
}

// watch: a fan watching the seat map over the socket for cfg.seconds.
export async function watch(c, cfg) {
  const frames = await c.socket('/ws', { op: 'subscribe', topic: `event:${cfg.event}:seats` }, cfg.seconds || 10);
  c.metric('frames', frames, {});
  return frames;
}

function check(c, ok, what) {
  c.metric('checks', ok ? 1 : 0, { check: what });
  return ok;
}

function fail(c, step, status) {
  c.metric('errors', 1, { step, status: String(status) });
  return false;
}
