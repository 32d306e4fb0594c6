// Unit tests of the live seat map client: node --test web/test/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeatSync, LiveSeats, CLOSE_SLOW_CONSUMER } from '../static/js/seatsync.js';

const seats = (epoch, from, to, entries) => ({ type: 'seats', event: '1', epoch, from, to, seats: entries });

test('snapshot then contiguous diffs; stale diffs dropped', () => {
  const s = new SeatSync();
  assert.equal(s.need, 'snapshot');
  s.onFrame(seats('e', 4, 5, [[0, 'h', 2]])); // before the snapshot: buffered
  s.loadSnapshot({ epoch: 'e', seq: 4, statuses: 'aaaa' });
  assert.equal(s.statuses.join(''), 'haaa');
  assert.equal(s.seq, 5);
  s.onFrame(seats('e', 3, 4, [[1, 'h', 9]])); // at or below seq: stale
  assert.equal(s.statuses.join(''), 'haaa');
  s.onFrame(seats('e', 5, 7, [[1, 's', 3], [0, 'a', 3]]));
  assert.equal(s.statuses.join(''), 'asaa');
  assert.equal(s.need, null);
});

test('gap → diffs, then buffered frames apply', () => {
  const s = new SeatSync();
  s.loadSnapshot({ epoch: 'e', seq: 0, statuses: 'aaa' });
  s.onFrame(seats('e', 2, 3, [[2, 'h', 1]]));
  assert.equal(s.statuses.join(''), 'aaa', 'past a gap nothing applies');
  assert.equal(s.need, 'diffs');
  s.applyDiffs({ epoch: 'e', from: 0, to: 2, seats: [[0, 'h', 1]] });
  assert.equal(s.statuses.join(''), 'hah');
  assert.equal(s.seq, 3);
  assert.equal(s.need, null);
});

test('higher version wins whatever the order', () => {
  const s = new SeatSync();
  s.loadSnapshot({ epoch: 'e', seq: 0, statuses: 'a' });
  s.applyDiffs({ epoch: 'e', from: 0, to: 2, seats: [[0, 'a', 5], [0, 'h', 4]] });
  assert.equal(s.statuses[0], 'a');
  s.onFrame(seats('e', 2, 3, [[0, 'h', 3]])); // older version, newer seq
  assert.equal(s.statuses[0], 'a');
});

test('heartbeat ahead → diffs; other epoch, new-epoch frame or resync → snapshot', () => {
  const s = new SeatSync();
  s.loadSnapshot({ epoch: 'e', seq: 3, statuses: 'aa' });
  s.onFrame({ type: 'heartbeat', positions: { 'event:1:seats': { epoch: 'e', seq: 3 } } });
  assert.equal(s.need, null);
  s.onFrame({ type: 'heartbeat', positions: { 'event:1:seats': { epoch: 'e', seq: 4 } } });
  assert.equal(s.need, 'diffs', 'a lost last diff is noticed');
  s.applyDiffs({ epoch: 'e', from: 3, to: 4, seats: [[1, 'h', 1]] });
  assert.equal(s.need, null);
  s.onFrame({ type: 'resync', topic: 'event:1:seats' });
  assert.equal(s.need, 'snapshot');
  s.loadSnapshot({ epoch: 'e', seq: 4, statuses: 'ah' });
  s.onFrame(seats('f', 0, 1, [[0, 's', 7]]));
  assert.equal(s.need, 'snapshot', 'a new epoch means refetch');
  assert.equal(s.statuses[0], 'a');
  s.loadSnapshot({ epoch: 'e', seq: 4, statuses: 'ah' }); // a stale cached snapshot
  assert.equal(s.need, 'snapshot', 'still the old epoch: ask again');
  s.loadSnapshot({ epoch: 'f', seq: 0, statuses: 'ah' });
  assert.equal(s.statuses.join(''), 'sh', 'the buffered new-epoch frame applies');
  assert.equal(s.need, null);
});

// A server history replayed to a client that loses 30% of frames and
// shuffles the rest must end equal to the truth after catch-ups.
test('converges through loss and reordering', () => {
  for (let round = 0; round < 50; round++) {
    const rnd = mulberry32(round);
    const n = 20;
    const truth = Array(n).fill('a');
    const version = Array(n).fill(0);
    const history = []; // seq i+1 → entries
    for (let i = 0; i < 200; i++) {
      const idx = Math.floor(rnd() * n);
      truth[idx] = truth[idx] === 'a' ? 'h' : 'a';
      history.push([[idx, truth[idx], ++version[idx]]]);
    }
    const s = new SeatSync();
    const snapAt = 50;
    const snapStatuses = replay(history.slice(0, snapAt), n);
    const frames = history.map((e, i) => seats('e', i, i + 1, e)).filter(() => rnd() >= 0.3);
    shuffle(frames, rnd);
    frames.slice(0, 20).forEach((f) => s.onFrame(f)); // some arrive before the snapshot
    s.loadSnapshot({ epoch: 'e', seq: snapAt, statuses: snapStatuses.join('') });
    frames.slice(20).forEach((f) => s.onFrame(f));
    s.onFrame({ type: 'heartbeat', positions: { t: { epoch: 'e', seq: history.length } } });
    for (let guard = 0; s.need && guard < 100; guard++) {
      assert.equal(s.need, 'diffs');
      const entries = history.slice(s.seq).flat();
      s.applyDiffs({ epoch: 'e', from: s.seq, to: history.length, seats: entries });
    }
    assert.equal(s.statuses.join(''), truth.join(''), `round ${round}`);
  }
});

function replay(history, n) {
  const st = Array(n).fill('a');
  for (const entries of history) for (const [idx, state] of entries) st[idx] = state;
  return st;
}

function shuffle(a, rnd) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
}

function mulberry32(seed) {
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// A fake world for LiveSeats: sockets, fetch and timers under test control.
function world() {
  const w = { sockets: [], timers: [], fetches: [], now: 0 };
  w.WebSocket = class {
    constructor(url) { this.url = url; this.sent = []; w.sockets.push(this); }
    send(d) { this.sent.push(JSON.parse(d)); }
    close(code) { this.closed = code; }
    open() { this.onopen(); }
    recv(f) { this.onmessage({ data: JSON.stringify(f) }); }
    drop(code) { this.onclose({ code }); }
  };
  w.setTimeout = (fn, ms) => { const t = { fn, at: w.now + ms }; w.timers.push(t); return t; };
  w.clearTimeout = (t) => { w.timers = w.timers.filter((x) => x !== t); };
  w.responses = [];
  w.fetch = async (url) => {
    w.fetches.push(url);
    const r = w.responses.shift() ?? { status: 500, body: {} };
    return { ok: r.status === 200, status: r.status, json: async () => r.body };
  };
  w.advance = async (ms) => {
    w.now += ms;
    for (;;) {
      const due = w.timers.filter((t) => t.at <= w.now).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      w.timers = w.timers.filter((t) => t !== due);
      due.fn();
      await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setImmediate(r));
  };
  return w;
}

function live(w, extra = {}) {
  const changes = [];
  const l = new LiveSeats({
    eventId: 7, url: 'ws://x/ws', WebSocket: w.WebSocket, fetch: w.fetch, setTimeout: w.setTimeout,
    clearTimeout: w.clearTimeout, random: () => 0.5, onChange: (c) => changes.push(...c), ...extra,
  });
  l.start();
  return { l, changes };
}

test('LiveSeats: subscribe, buffer, snapshot, live diffs', async () => {
  const w = world();
  const { l } = live(w);
  const ws = w.sockets[0];
  ws.open();
  assert.deepEqual(ws.sent, [{ op: 'subscribe', topic: 'event:7:seats' }]);
  w.responses.push({ status: 200, body: { epoch: 'e', seq: 1, statuses: 'aaa' } });
  ws.recv({ type: 'subscribed', topic: 'event:7:seats' });
  ws.recv(seats('e', 1, 2, [[2, 'h', 1]])); // while the snapshot loads
  await w.advance(0);
  assert.deepEqual(w.fetches, ['/api/events/7/availability']);
  assert.equal(l.sync.statuses.join(''), 'aah');
  ws.recv(seats('e', 2, 3, [[0, 's', 1]]));
  assert.equal(l.sync.statuses.join(''), 'sah');
});

test('LiveSeats: gap → /diffs after a grace; 410 → snapshot', async () => {
  const w = world();
  const { l } = live(w, { catchUpGraceMs: 100 });
  const ws = w.sockets[0];
  ws.open();
  w.responses.push({ status: 200, body: { epoch: 'e', seq: 0, statuses: 'aa' } });
  ws.recv({ type: 'subscribed', topic: 'event:7:seats' });
  await w.advance(0);
  ws.recv(seats('e', 1, 2, [[1, 'h', 1]]));
  await w.advance(50);
  assert.equal(w.fetches.length, 1, 'no fetch within the grace');
  ws.recv(seats('e', 0, 1, [[0, 'h', 1]])); // the late frame fills the gap
  await w.advance(100);
  assert.equal(w.fetches.length, 1, 'gap filled: no catch-up');
  assert.equal(l.sync.statuses.join(''), 'hh');
  ws.recv({ type: 'heartbeat', positions: { 'event:7:seats': { epoch: 'e', seq: 5 } } });
  w.responses.push({ status: 410, body: {} });
  w.responses.push({ status: 200, body: { epoch: 'e', seq: 5, statuses: 'ss' } });
  await w.advance(100);
  assert.deepEqual(w.fetches.slice(1), ['/api/events/7/diffs?from=2&epoch=e', '/api/events/7/availability']);
  assert.equal(l.sync.statuses.join(''), 'ss');
});

test('LiveSeats: reconnects with jittered backoff and catches up; 4008 refetches', async () => {
  const w = world();
  const rnd = [0.9, 0.1, 0.5];
  const { l } = live(w, { random: () => rnd.shift() ?? 0.5, backoffBaseMs: 100 });
  w.sockets[0].open();
  w.responses.push({ status: 200, body: { epoch: 'e', seq: 3, statuses: 'a' } });
  w.sockets[0].recv({ type: 'subscribed', topic: 'event:7:seats' });
  await w.advance(0);
  w.sockets[0].drop(1006);
  assert.equal(w.timers.at(-1).at - w.now, 90, 'first retry: random × 100 ms');
  await w.advance(90);
  assert.equal(w.sockets.length, 2);
  w.sockets[1].drop(1006);
  assert.equal(w.timers.at(-1).at - w.now, 20, 'second retry: random × 200 ms');
  await w.advance(20);
  const ws = w.sockets[2];
  ws.open();
  w.responses.push({ status: 200, body: { epoch: 'e', seq: 4, from: 3, to: 4, seats: [[0, 'h', 1]] } });
  w.responses[0].body = { epoch: 'e', from: 3, to: 4, seats: [[0, 'h', 1]] };
  ws.recv({ type: 'subscribed', topic: 'event:7:seats' });
  await w.advance(0);
  assert.equal(w.fetches.at(-1), '/api/events/7/diffs?from=3&epoch=e', 'after a reconnect: the missed diffs');
  assert.equal(l.sync.statuses.join(''), 'h');
  assert.equal(l.attempt, 0, 'backoff resets once subscribed');
  ws.drop(CLOSE_SLOW_CONSUMER);
  await w.advance(1000);
  w.sockets[3].open();
  w.responses.push({ status: 200, body: { epoch: 'e', seq: 9, statuses: 's' } });
  w.sockets[3].recv({ type: 'subscribed', topic: 'event:7:seats' });
  await w.advance(0);
  assert.equal(w.fetches.at(-1), '/api/events/7/availability', 'slow consumer: refetch the snapshot');
  assert.equal(l.sync.statuses.join(''), 's');
  l.stop();
});

test('LiveSeats: a lost subscribe ack still leads to the snapshot', async () => {
  const w = world();
  const { l } = live(w, { ackTimeoutMs: 1000 });
  w.sockets[0].open();
  w.responses.push({ status: 200, body: { epoch: 'e', seq: 0, statuses: 'a' } });
  await w.advance(999);
  assert.equal(w.fetches.length, 0);
  await w.advance(1);
  assert.deepEqual(w.fetches, ['/api/events/7/availability']);
  assert.equal(l.sync.statuses.join(''), 'a');
});
