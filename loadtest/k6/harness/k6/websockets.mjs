// The `k6/websockets` module over Node's WebSocket (undici). Events arrive
// on the VU's event loop, so none is delivered while the VU sleeps or
// waits on HTTP, as in k6. An open socket keeps the iteration alive until
// it closes. Emits ws_connecting, ws_sessions, ws_msgs_sent,
// ws_msgs_received and ws_session_duration.
import { emit, guard, hold, inInit, release, tagsNow } from '../runtime.mjs';

const NodeWebSocket = globalThis.WebSocket;

export class WebSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;

  constructor(url, protocols, params) {
    if (inInit()) throw new Error('using websockets in the init context is not supported');
    if (!NodeWebSocket) throw new Error('harness: Node has no WebSocket (Node 20 needs --experimental-websocket; run.mjs passes it)');
    if (params?.headers || params?.jar || params?.compression) {
      console.warn('harness: WebSocket params headers, jar and compression are ignored (Node\'s WebSocket cannot set them)');
    }
    this.url = String(url);
    this._tags = tagsNow({ url: this.url, ...(params?.tags || {}) });
    this._listeners = {};
    this.onopen = this.onmessage = this.onerror = this.onclose = this.onping = this.onpong = null;
    const t0 = performance.now();
    this._ws = new NodeWebSocket(this.url, protocols);
    this._h = { cancel: () => this._ws.close() };
    hold(this._h);
    this._ws.onopen = () => {
      this._opened = performance.now();
      emit('ws_connecting', this._opened - t0, this._tags);
      emit('ws_sessions', 1, this._tags);
      this._dispatch('open', { type: 'open' });
    };
    this._ws.onmessage = (e) => {
      emit('ws_msgs_received', 1, this._tags);
      this._dispatch('message', { type: 'message', data: e.data, origin: this.url, timestamp: Date.now() });
    };
    this._ws.onerror = (e) => this._dispatch('error', { type: 'error', error: e?.message || 'websocket error' });
    this._ws.onclose = (e) => {
      if (this._opened) emit('ws_session_duration', performance.now() - this._opened, this._tags);
      this._dispatch('close', { type: 'close', code: e.code, reason: e.reason });
      release(this._h);
    };
  }

  get readyState() { return this._ws.readyState; }
  get bufferedAmount() { return this._ws.bufferedAmount; }
  get protocol() { return this._ws.protocol; }
  get binaryType() { return this._ws.binaryType; }
  set binaryType(v) { this._ws.binaryType = v; }

  send(data) {
    this._ws.send(data);
    emit('ws_msgs_sent', 1, this._tags);
  }

  close(code, reason) {
    this._ws.close(code, reason);
  }

  ping() {
    console.warn('harness: WebSocket.ping() is not implemented (Node\'s WebSocket sends no pings)');
  }

  addEventListener(type, fn) {
    (this._listeners[type] ||= []).push(fn);
  }

  _dispatch(type, event) {
    const on = this[`on${type}`];
    if (typeof on === 'function') guard(on.bind(this), event);
    for (const fn of this._listeners[type] || []) guard(fn.bind(this), event);
  }
}

export default { WebSocket };
