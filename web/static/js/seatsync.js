// Live seat map client: keeps a copy of an event's seat statuses equal to
// the server's, from one snapshot and a stream of diffs over /ws.
//
// The rules (docs/architecture.md, "The path of a diff"):
//   - open the socket and subscribe first, buffer frames, then fetch the
//     snapshot; drop diffs at or below its seq;
//   - apply diffs in seq order; a frame past a gap waits, and if the gap is
//     still there after a short grace the missing range is fetched from
//     /api/events/{event}/diffs?from=seq (410 → refetch the snapshot);
//   - a seat's higher version always wins, so reordering never shows a
//     stale state;
//   - another epoch (Redis lost the stream) or a resync frame → refetch
//     the snapshot; heartbeats carry the latest seq, so a lost last diff
//     is noticed;
//   - the socket reconnects with jittered exponential backoff.
//
// Plain ES module, no build step. SeatSync is the pure state machine;
// LiveSeats adds the socket, fetches and timers (all injectable for tests).

/** Close code of a socket the server dropped as a slow consumer. */
export const CLOSE_SLOW_CONSUMER = 4008;

/** SeatSync holds the statuses and decides what to fetch next. */
export class SeatSync {
  constructor() {
    this.epoch = null;
    this.seq = -1;
    this.statuses = null; // array of one-letter states, by idx
    this.versions = null; // highest version applied, by idx (0 = snapshot)
    this.buffer = new Map(); // "epoch:from" → seats frame not yet applied
    this.wantSnapshot = true;
    this.headSeq = -1; // highest seq the server mentioned in our epoch
    this.forceCatchUp = false; // after a reconnect: ask for missed diffs
    this.latestEpoch = null; // newest epoch the server mentioned
  }

  /** behind reports a known gap: frames waiting, or the head ahead of us. */
  get behind() {
    if (!this.ready) return false;
    if (this.forceCatchUp || this.headSeq > this.seq) return true;
    for (const f of this.buffer.values()) if (f.epoch === this.epoch) return true;
    return false;
  }

  /** ready reports whether a snapshot is loaded. */
  get ready() { return this.statuses !== null; }

  /** need is what to fetch: 'snapshot', 'diffs' or null. */
  get need() {
    if (this.wantSnapshot || !this.ready) return 'snapshot';
    if (this.behind) return 'diffs';
    return null;
  }

  /** loadSnapshot takes {epoch, seq, statuses}; returns changed idxs. */
  loadSnapshot(snap) {
    const changed = [];
    const next = Array.from(snap.statuses);
    if (this.statuses) {
      for (let i = 0; i < next.length; i++) if (this.statuses[i] !== next[i]) changed.push(i);
    }
    this.statuses = next;
    this.versions = new Array(next.length).fill(0);
    this.epoch = snap.epoch;
    this.seq = snap.seq;
    // A snapshot older than an epoch change we already saw is stale (the
    // server's per-node cache): keep asking.
    this.wantSnapshot = this.latestEpoch !== null && this.latestEpoch !== snap.epoch;
    if (!this.wantSnapshot) this.latestEpoch = snap.epoch;
    for (const [key, f] of this.buffer) {
      if (f.epoch !== this.epoch && f.epoch !== this.latestEpoch) this.buffer.delete(key);
    }
    this.headSeq = snap.seq;
    this.forceCatchUp = false;
    return changed.concat(this.drain());
  }

  /** onFrame handles one server frame; returns changed idxs. */
  onFrame(f) {
    switch (f.type) {
      case 'resync':
        this.wantSnapshot = true;
        return [];
      case 'heartbeat':
        for (const p of Object.values(f.positions || {})) this.notePosition(p.epoch, p.seq);
        return [];
      case 'seats':
        this.notePosition(f.epoch, f.to);
        // Keep frames of our epoch past our seq, and of a newer epoch (they
        // apply once its snapshot is in).
        if (!this.ready || f.epoch !== this.epoch || f.to > this.seq) this.buffer.set(`${f.epoch}:${f.from}`, f);
        return this.ready && !this.wantSnapshot ? this.drain() : [];
      default:
        return [];
    }
  }

  notePosition(epoch, seq) {
    if (this.latestEpoch !== epoch) this.latestEpoch = epoch;
    if (!this.ready) return;
    if (epoch !== this.epoch) {
      this.wantSnapshot = true;
    } else if (seq > this.headSeq) {
      this.headSeq = seq;
    }
  }

  /** applyDiffs takes a /diffs answer {epoch, from, to, seats}. */
  applyDiffs(d) {
    if (!this.ready || d.epoch !== this.epoch || d.from !== this.seq) return [];
    const changed = this.apply(d.seats);
    this.seq = d.to;
    this.forceCatchUp = false;
    return changed.concat(this.drain());
  }

  drain() {
    const changed = [];
    for (let progressed = true; progressed;) {
      progressed = false;
      for (const [key, f] of this.buffer) {
        if (f.epoch !== this.epoch) continue; // waits for its snapshot
        if (f.to <= this.seq) {
          this.buffer.delete(key); // stale: at or below what we have
        } else if (f.from <= this.seq) {
          changed.push(...this.apply(f.seats));
          this.seq = f.to;
          this.buffer.delete(key);
          progressed = true;
        }
      }
    }
    return changed;
  }

  apply(seats) {
    const changed = [];
    for (const [idx, state, version] of seats) {
      if (idx < 0 || idx >= this.statuses.length) continue;
      if (version > this.versions[idx]) {
        this.versions[idx] = version;
        if (this.statuses[idx] !== state) {
          this.statuses[idx] = state;
          changed.push(idx);
        }
      }
    }
    return changed;
  }
}

/**
 * LiveSeats keeps a SeatSync fed over a WebSocket.
 *
 * options: eventId; url (of /ws, default from location); base (API
 * origin, default ''); onChange(idxs, sync) and onStatus(text) callbacks;
 * onFrame(frame) for the frames of the signed-in account's own topic;
 * and for tests WebSocket, fetch, setTimeout, clearTimeout, random.
 */
// SEAT_FRAMES are the frame types of the seat topic; any other frame on
// the socket is the account's own (a waiting-list offer) and goes to
// onFrame.
const SEAT_FRAMES = new Set(['seats', 'heartbeat', 'resync', 'subscribed', 'unsubscribed', 'pong']);

export class LiveSeats {
  constructor(opts) {
    this.eventId = String(opts.eventId);
    this.topic = `event:${this.eventId}:seats`;
    this.url = opts.url ?? defaultURL();
    this.base = opts.base ?? '';
    this.onChange = opts.onChange ?? (() => {});
    this.onStatus = opts.onStatus ?? (() => {});
    this.onFrame = opts.onFrame ?? (() => {});
    this.WebSocket = opts.WebSocket ?? globalThis.WebSocket;
    this.fetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
    this.setTimeout = opts.setTimeout ?? globalThis.setTimeout.bind(globalThis);
    this.clearTimeout = opts.clearTimeout ?? globalThis.clearTimeout.bind(globalThis);
    this.random = opts.random ?? Math.random;
    this.grace = opts.catchUpGraceMs ?? 150;
    this.backoffBase = opts.backoffBaseMs ?? 250;
    this.backoffMax = opts.backoffMaxMs ?? 15000;
    this.refetchDelay = opts.refetchDelayMs ?? 300;
    this.ackTimeout = opts.ackTimeoutMs ?? 1000;
    this.sync = new SeatSync();
    this.attempt = 0;
    this.stopped = false;
    this.fetching = false;
    this.timer = null;
    this.ws = null;
  }

  start() { this.stopped = false; this.connect(); }

  stop() {
    this.stopped = true;
    if (this.timer) this.clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000);
  }

  connect() {
    const ws = new this.WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      ws.send(JSON.stringify({ op: 'subscribe', topic: this.topic }));
      // Should the ack never come, fetch anyway after a while.
      this.setTimeout(() => { if (ws === this.ws && !this.subscribed) this.onSubscribed(); }, this.ackTimeout);
    };
    this.subscribed = false;
    ws.onmessage = (ev) => this.onMessage(ws, ev.data);
    ws.onclose = (ev) => this.onClose(ws, ev.code);
  }

  onMessage(ws, data) {
    let f;
    try { f = JSON.parse(data); } catch { return; }
    if (f.type === 'subscribed' && f.topic === this.topic) {
      if (!this.subscribed) this.onSubscribed();
      return;
    }
    if (!this.subscribed && (f.type === 'seats' || f.type === 'heartbeat')) {
      this.onSubscribed(); // a frame of the topic proves the subscription
    }
    if (f.type === 'error') { this.onStatus(`error: ${f.code}`); return; }
    if (!SEAT_FRAMES.has(f.type)) { this.onFrame(f); return; } // the account's own frames
    const changed = this.sync.onFrame(f);
    if (changed.length) this.onChange(changed, this.sync);
    if (this.sync.ready && this.sync.need) this.pump(this.sync.need === 'diffs' ? this.grace : 0);
  }

  onSubscribed() {
    this.subscribed = true;
    this.attempt = 0;
    this.onStatus('live');
    // Subscribed, frames are buffering: now the snapshot (or, after a
    // reconnect, the missed diffs).
    if (this.sync.ready) this.sync.forceCatchUp = true; else this.sync.wantSnapshot = true;
    this.pump(0);
  }

  onClose(ws, code) {
    if (ws !== this.ws || this.stopped) return;
    this.ws = null;
    if (code === CLOSE_SLOW_CONSUMER) this.sync.wantSnapshot = true;
    this.onStatus('reconnecting');
    // Full jitter: a reconnect storm spreads out instead of arriving at once.
    const cap = Math.min(this.backoffMax, this.backoffBase * 2 ** this.attempt);
    this.attempt++;
    this.setTimeout(() => { if (!this.stopped) this.connect(); }, Math.floor(this.random() * cap));
  }

  /** pump fetches what the sync needs, after delay, one fetch at a time. */
  pump(delay) {
    if (this.timer || this.fetching || this.stopped) return;
    this.timer = this.setTimeout(() => { this.timer = null; this.fetchNeeded(); }, delay);
  }

  async fetchNeeded() {
    const need = this.sync.need;
    if (!need || this.fetching) return;
    this.fetching = true;
    let retryIn = null;
    try {
      if (need === 'snapshot') {
        const res = await this.fetch(`${this.base}/api/events/${this.eventId}/availability`);
        if (!res.ok) throw new Error(`availability: HTTP ${res.status}`);
        const changed = this.sync.loadSnapshot(await res.json());
        this.onChange(changed, this.sync);
        if (this.sync.wantSnapshot) retryIn = this.refetchDelay; // stale cache
      } else {
        const s = this.sync;
        const res = await this.fetch(`${this.base}/api/events/${this.eventId}/diffs?from=${s.seq}&epoch=${encodeURIComponent(s.epoch)}`);
        if (res.status === 410) {
          s.wantSnapshot = true;
        } else if (!res.ok) {
          throw new Error(`diffs: HTTP ${res.status}`);
        } else {
          const changed = s.applyDiffs(await res.json());
          if (changed.length) this.onChange(changed, s);
        }
      }
    } catch (err) {
      this.onStatus(`retrying: ${err.message}`);
      retryIn = this.refetchDelay + Math.floor(this.random() * this.refetchDelay);
    } finally {
      this.fetching = false;
    }
    if (this.sync.need) this.pump(retryIn ?? 0);
  }
}

function defaultURL() {
  const loc = globalThis.location;
  if (!loc) return 'ws://localhost:8080/ws';
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws`;
}
