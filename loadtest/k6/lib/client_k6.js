// client_k6.js: the scenarios' client on k6 (sync HTTP, k6 metrics, k6's
// WebSocket API). Only k6 can load this file.
import http from 'k6/http';
import { sleep, check } from 'k6';
import crypto from 'k6/crypto';
import { Trend, Counter } from 'k6/metrics';
import { WebSocket } from 'k6/experimental/websockets';

const trends = {};
const counters = {};

export function makeClient(base) {
  const wsBase = base.replace(/^http/, 'ws');
  const res = (r) => ({ status: r.status, json: safeJSON(r.body) });
  return {
    get: (url, name, headers = {}) => res(http.get(base + url, { headers, tags: { name } })),
    post: (url, body, headers = {}, name) => res(http.post(base + url, JSON.stringify(body),
      { headers: { 'Content-Type': 'application/json', ...headers }, tags: { name } })),
    sleep: (s) => sleep(s),
    now: () => Date.now(),
    sha256hex: (s) => crypto.sha256(s, 'hex'),
    metric(name, value, tags) {
      if (name === 'checks') { check(null, { [tags.check]: () => value === 1 }); return; }
      if (name.endsWith('_ms')) (trends[name] ||= new Trend(name, true)).add(value, tags);
      else (counters[name] ||= new Counter(name)).add(value, tags);
    },
    socket: (url, subscribe, seconds) => new Promise((resolve) => {
      let frames = 0;
      const ws = new WebSocket(wsBase + url);
      ws.onopen = () => ws.send(JSON.stringify(subscribe));
      ws.onmessage = () => { frames++; };
      setTimeout(() => { ws.close(); resolve(frames); }, seconds * 1000);
    }),
  };
}

function safeJSON(body) {
  try { return JSON.parse(body); } catch { return null; }
}
