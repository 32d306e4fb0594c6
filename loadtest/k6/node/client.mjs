// client.mjs: the scenarios' client on Node (fetch, node:crypto, the
// WebSocket of node --experimental-websocket). Metrics are collected in
// memory for the runner to check.
import { createHash } from 'node:crypto';

export function makeClient(base, metrics) {
  const res = async (r) => {
    const text = await r.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    return { status: r.status, json };
  };
  return {
    get: async (url, _name, headers = {}) => res(await fetch(base + url, { headers })),
    post: async (url, body, headers = {}) => res(await fetch(base + url, {
      method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body),
    })),
    sleep: (s) => new Promise((r) => setTimeout(r, s * 1000)),
    now: () => Date.now(),
    sha256hex: (s) => createHash('sha256').update(s).digest('hex'),
    metric(name, value, tags) {
      if (name === 'checks') {
        if (!value) (metrics.failed_checks ||= []).push(tags.check);
        return;
      }
      const key = name + (tags && Object.keys(tags).length ? JSON.stringify(tags) : '');
      metrics[key] = (metrics[key] || 0) + value;
    },
    socket: (url, subscribe, seconds) => new Promise((resolve, reject) => {
      let frames = 0;
      const ws = new WebSocket(base.replace(/^http/, 'ws') + url);
      ws.onopen = () => ws.send(JSON.stringify(subscribe));
      ws.onmessage = () => { frames++; };
      ws.onerror = (e) => reject(new Error(`socket: ${e.message || 'error'}`));
      setTimeout(() => { ws.close(); resolve(frames); }, seconds * 1000);
    }),
  };
}
