// scenarios.js: what a fan, a watcher and a browser do, in k6's terms
// (synchronous HTTP, checks, the k6/websockets event loop). The entry
// files (flash_sale.js, watchers.js, browse.js) choose the load; this file
// is the behaviour. BASE_URL comes from the environment (-e BASE_URL=...).
import http from 'k6/http';
import crypto from 'k6/crypto';
import { check, sleep } from 'k6';
import { WebSocket } from 'k6/websockets';
import { setTimeout } from 'k6/timers';
import { path } from './routes.js';
import { solve } from './pow.js';
import { declines, fanErrors, holdConflicts, holdsLost, orders, seatFrames } from './metrics.js';

const BASE = (__ENV.BASE_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
const WS_BASE = BASE.replace(/^http/, 'ws');

// A 409 on a hold is a lost race, not a failed request.
const HOLD_STATUSES = http.expectedStatuses(201, 409);

function get(name, url, headers = {}) {
  return http.get(BASE + url, { headers, tags: { name } });
}

function post(name, url, body, headers = {}, responseCallback = undefined) {
  const params = { headers: { 'Content-Type': 'application/json', ...headers }, tags: { name } };
  if (responseCallback) params.responseCallback = responseCallback;
  return http.post(BASE + url, JSON.stringify(body), params);
}

function json(res) {
  try {
    return res.json();
  } catch {
    return null;
  }
}

function fail(step, status) {
  fanErrors.add(1, { step, status: String(status) });
  return false;
}

// browse: the catalog pages a curious fan loads.
export function browse(cfg) {
  const e = { event: cfg.event };
  check(get('events', path('events')), { 'events listed': (r) => r.status === 200 });
  check(get('event', path('event', e)), { 'event detail': (r) => r.status === 200 });
  const map = get('seatmap', path('seatmap', e));
  check(map, { 'seat map': (r) => r.status === 200 });
  // The seat map is cached by ETag: a browser asks again with If-None-Match.
  const etag = map.headers.Etag;
  if (etag) check(get('seatmap_etag', path('seatmap', e), { 'If-None-Match': etag }), { 'seat map not modified': (r) => r.status === 304 });
  check(get('availability', path('availability', e)), { availability: (r) => r.status === 200 });
}

// flashSale: one fan through the on-sale: waiting room (when on), hold,
// checkout, pay. cfg: { event, token, seats (1-8), decline (bool), think
// (seconds), queueSeconds }. Returns whether the fan got an order.
export function flashSale(cfg) {
  const headers = { Authorization: `Bearer ${cfg.token}` };
  const ev = get('event', path('event', { event: cfg.event }), headers);
  if (!check(ev, { 'event loaded': (r) => r.status === 200 })) return fail('event', ev.status);
  let admission = null;
  const room = json(ev)?.waiting_room;
  if (room && room.enabled) {
    admission = waitTurn(cfg, headers);
    if (!check(admission, { 'admitted from the waiting room': (a) => a !== null })) return fail('not_admitted', 0);
  }
  sleep(cfg.think);
  const holdHeaders = admission ? { ...headers, 'X-Admission-Token': admission } : headers;
  // Fans asking for best available at the same moment are offered the same
  // seats (the server picks from a snapshot about a second old), so a 409
  // is normal in a spike: like a person, try again after a moment.
  let held;
  for (let attempt = 0; attempt < (cfg.holdAttempts || 4); attempt++) {
    if (attempt > 0) sleep(0.2 + Math.random() * 0.4);
    held = post('hold', path('hold', { event: cfg.event }), { best_available: { quantity: cfg.seats } }, holdHeaders, HOLD_STATUSES);
    if (held.status !== 409) break;
    holdConflicts.add(1);
  }
  if (held.status === 409) {
    holdsLost.add(1);
    return false;
  }
  if (!check(held, { 'hold taken': (r) => r.status === 201 })) return fail('hold', held.status);
  sleep(cfg.think);
  const co = post('checkout', path('checkout', { hold: json(held).id }), {}, headers);
  if (!check(co, { 'checkout created': (r) => r.status === 201 })) return fail('checkout', co.status);
  const card = cfg.decline ? '4000000000000002' : '4242424242424242';
  const paid = post('confirm', path('confirm', { payment: json(co).payment.id }), { card_number: card }, headers);
  // A decline is 200 {status: "declined"} (the seats are released), not an
  // error status; anything else without an order is a failure.
  const body = json(paid);
  if (!check(paid, { 'payment answered': (r) => r.status === 200 && body !== null })) return fail('confirm', paid.status);
  if (body.order_id) {
    orders.add(1);
    return true;
  }
  if (body.status === 'declined') {
    check(cfg.decline, { 'only the declining card is declined': (d) => d === true });
    declines.add(1);
    return false;
  }
  return fail('confirm', `200 ${body.status}`);
}

// waitTurn solves the proof of work, joins the queue and polls until
// admitted; it returns the admission token, or null after cfg.queueSeconds.
function waitTurn(cfg, headers) {
  const ch = get('challenge', path('challenge', { event: cfg.event }), headers);
  const c = json(ch);
  if (ch.status !== 200 || !c) return null;
  const solution = solve(c.challenge, c.difficulty, (s) => crypto.sha256(s, 'hex'));
  const joined = post('join', path('join', { event: cfg.event }), { challenge: c.challenge, signature: c.signature, solution }, headers);
  if (joined.status !== 201 && joined.status !== 200) return null;
  const deadline = Date.now() + (cfg.queueSeconds || 120) * 1000;
  while (Date.now() < deadline) {
    const me = get('queue_me', path('queueMe', { event: cfg.event }), headers);
    const m = json(me);
    if (me.status === 200 && m && m.state === 'admitted' && m.admission_token) return m.admission_token;
    sleep(1);
  }
  return null;
}

// watch: a fan watching the seat map over the socket for cfg.seconds. The
// iteration lasts until the socket closes (k6 waits for its event loop).
export function watch(cfg) {
  const topic = `event:${cfg.event}:seats`;
  const ws = new WebSocket(`${WS_BASE}/ws`);
  let subscribed = false;
  ws.onopen = () => ws.send(JSON.stringify({ op: 'subscribe', topic }));
  ws.onmessage = (e) => {
    let frame = null;
    try {
      frame = JSON.parse(typeof e.data === 'string' ? e.data : '');
    } catch {
      fanErrors.add(1, { step: 'socket', status: 'not json' });
      return;
    }
    if (frame.type === 'subscribed') subscribed = true;
    else if (frame.type === 'error') fanErrors.add(1, { step: 'socket', status: String(frame.code) });
    else seatFrames.add(1, { type: String(frame.type) });
  };
  ws.onerror = (e) => fail('socket', e.error);
  setTimeout(() => {
    check(subscribed, { 'subscribed to the seat map': (s) => s });
    ws.close();
  }, cfg.seconds * 1000);
}
