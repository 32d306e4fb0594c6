// io.mjs: the engine side of k6/http (main thread). A VU's worker blocks
// while the request runs here, on the VU's own keep-alive agent (k6 keeps
// connections per VU too), and gets back the response with k6's timing
// phases. Redirects are followed as k6 does (up to params.redirects, 10 by
// default), but only the last hop is returned and measured.
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';

export function newAgents() {
  return { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
}

// k6's error codes for the failures the harness can tell apart.
function errorCode(err) {
  switch (err.code) {
    case 'ENOTFOUND': case 'EAI_AGAIN': return 1101;
    case 'ECONNREFUSED': return 1212;
    case 'ECONNRESET': return 1220;
    case 'ETIMEDOUT': case 'HARNESS_TIMEOUT': return 1050;
    default: return 1000;
  }
}

// request performs req = {method, url, headers, body (string | Uint8Array
// | null), timeout (ms), redirects, responseType} and resolves with a plain
// object the worker turns into a k6 Response. It never rejects: failures
// come back as status 0 with error and error_code, as in k6.
export async function request(agents, req) {
  let url = req.url;
  let method = req.method;
  let body = req.body;
  for (let hop = 0; ; hop++) {
    const res = await once(agents, method, url, req.headers, body, req.timeout, req.responseType);
    const loc = res.location;
    delete res.location;
    if (res.status >= 300 && res.status < 400 && loc && hop < req.redirects) {
      url = new URL(loc, url).href;
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = 'GET';
        body = null;
      }
      continue;
    }
    return res;
  }
}

function once(agents, method, url, headers, body, timeout, responseType) {
  return new Promise((resolve) => {
    let u;
    try {
      u = new URL(url);
    } catch {
      resolve(failed(url, { code: 'EINVAL', message: `invalid URL ${url}` }, {}));
      return;
    }
    const mod = u.protocol === 'https:' ? https : http;
    const t = { start: performance.now() };
    let sock;
    let read0 = 0;
    let written0 = 0;
    const hdrs = { 'User-Agent': 'k6/harness (https://k6.io/)', ...headers };
    const payload = body == null ? null : typeof body === 'string' ? Buffer.from(body) : Buffer.from(body);
    if (payload && !Object.keys(hdrs).some((k) => k.toLowerCase() === 'content-length')) hdrs['Content-Length'] = payload.length;
    const r = mod.request(u, { method, headers: hdrs, agent: u.protocol === 'https:' ? agents.https : agents.http });
    r.setTimeout(timeout, () => {
      const e = new Error(`request timeout`);
      e.code = 'HARNESS_TIMEOUT';
      r.destroy(e);
    });
    r.on('socket', (s) => {
      sock = s;
      t.socket = performance.now();
      read0 = s.bytesRead;
      written0 = s.bytesWritten;
      if (s.connecting) {
        s.once('connect', () => { t.connect = performance.now(); });
        s.once('secureConnect', () => { t.tls = performance.now(); });
      }
    });
    r.on('finish', () => { t.sent = performance.now(); });
    r.on('error', (err) => resolve(failed(url, err, t)));
    r.on('response', (res) => {
      t.response = performance.now();
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', (err) => resolve(failed(url, err, t)));
      res.on('end', () => {
        t.end = performance.now();
        const raw = Buffer.concat(chunks);
        const headersOut = {};
        for (let i = 0; i < res.rawHeaders.length; i += 2) headersOut[canonical(res.rawHeaders[i])] = res.rawHeaders[i + 1];
        const ready = t.tls || t.connect || t.socket;
        const timings = {
          blocked: t.socket - t.start,
          connecting: t.connect ? t.connect - t.socket : 0,
          tls_handshaking: t.tls ? t.tls - t.connect : 0,
          sending: (t.sent ?? t.response) - ready,
          waiting: t.response - (t.sent ?? t.response),
          receiving: t.end - t.response,
        };
        timings.duration = timings.sending + timings.waiting + timings.receiving;
        resolve({
          url, status: res.statusCode, status_text: `${res.statusCode} ${res.statusMessage}`,
          proto: `HTTP/${res.httpVersion}`, headers: headersOut, timings, location: res.headers.location,
          body: responseType === 'none' ? null : responseType === 'binary' ? new Uint8Array(raw) : raw.toString('utf8'),
          error: '', error_code: 0, remote_ip: sock?.remoteAddress ?? '', remote_port: sock?.remotePort ?? 0,
          bytesSent: sock ? sock.bytesWritten - written0 : 0, bytesReceived: sock ? sock.bytesRead - read0 : raw.length,
        });
      });
    });
    if (payload) r.end(payload);
    else r.end();
  });
}

function failed(url, err, t) {
  const now = performance.now();
  return {
    url, status: 0, status_text: '', proto: '', headers: {}, body: null,
    timings: { blocked: 0, connecting: 0, tls_handshaking: 0, sending: 0, waiting: 0, receiving: 0, duration: t.start ? now - t.start : 0 },
    error: `${err.code ? err.code + ': ' : ''}${err.message}`, error_code: errorCode(err),
    remote_ip: '', remote_port: 0, bytesSent: 0, bytesReceived: 0,
  };
}

// canonical spells a header name as Go's net/http (and so k6) does.
function canonical(name) {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_, dash, c) => dash + c.toUpperCase());
}
