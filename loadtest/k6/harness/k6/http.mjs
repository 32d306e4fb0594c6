// The `k6/http` module. Requests are synchronous, as in k6: the VU blocks
// while the engine performs the request (runtime.mjs call), then gets a
// Response. Each request emits k6's http_req_* samples with k6's system
// tags (name defaults to the URL; expected_response from the response
// callback, by default statuses 200-399).
import { call, emit, inInit, rt, tagsNow } from '../runtime.mjs';

const EXPECTED = Symbol('expectedStatuses');

export function expectedStatuses(...specs) {
  const ranges = specs.map((s) => {
    if (typeof s === 'number') return [s, s];
    if (s && typeof s.min === 'number' && typeof s.max === 'number') return [s.min, s.max];
    throw new Error('expectedStatuses: arguments must be integers or {min, max} objects');
  });
  return { [EXPECTED]: ranges };
}

const DEFAULT_CALLBACK = expectedStatuses({ min: 200, max: 399 });

// setResponseCallback sets the VU's default callback (null: none).
export function setResponseCallback(cb) {
  if (cb !== null && !cb?.[EXPECTED]) throw new Error('k6 only supports callbacks made by http.expectedStatuses');
  rt.responseCallback = cb;
}

class Response {
  constructor(r, request) {
    Object.assign(this, {
      status: r.status, status_text: r.status_text, proto: r.proto, body: r.body, headers: r.headers,
      timings: r.timings, url: r.url, error: r.error, error_code: r.error_code,
      remote_ip: r.remote_ip, remote_port: r.remote_port, request, cookies: {},
    });
  }

  json(selector) {
    if (selector !== undefined) throw new Error('harness: Response.json(selector) (gjson paths) is not implemented');
    if (typeof this.body !== 'string') throw new Error('the body is null so we can\'t transform it to JSON - this likely was because of a request error getting the response');
    return JSON.parse(this.body);
  }

  html() {
    throw new Error('harness: Response.html() is not implemented');
  }
}

function encodeBody(body, headers) {
  if (body === undefined || body === null) return null;
  if (typeof body === 'string') return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  if (typeof body === 'object') {
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/x-www-form-urlencoded';
    return new URLSearchParams(Object.entries(body).map(([k, v]) => [k, String(v)])).toString();
  }
  return String(body);
}

function duration(v, fallback) {
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'number') return v;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(String(v));
  if (!m) throw new Error(`invalid duration ${v}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60000, h: 3600000 }[m[2]];
}

export function request(method, url, body, params = {}) {
  if (inInit()) throw new Error('Making http requests in the init context is not supported');
  const headers = { ...(params.headers || {}) };
  const payload = encodeBody(body, headers);
  const u = String(url);
  const r = call('http', {
    method: method.toUpperCase(), url: u, headers, body: payload,
    timeout: duration(params.timeout, 60000), redirects: params.redirects ?? rt.options.maxRedirects ?? 10,
    responseType: params.responseType || rt.options.discardResponseBodies && 'none' || 'text',
  });
  const cb = params.responseCallback !== undefined ? params.responseCallback : rt.responseCallback !== undefined ? rt.responseCallback : DEFAULT_CALLBACK;
  if (cb !== null && !cb?.[EXPECTED]) throw new Error('k6 only supports callbacks made by http.expectedStatuses');
  const tags = tagsNow({ name: u, ...(params.tags || {}), method: method.toUpperCase(), url: u, status: String(r.status), proto: r.proto });
  if (r.error_code) {
    tags.error_code = String(r.error_code);
    console.warn(`Request Failed error="${r.error}"`);
  }
  let expected;
  if (cb) {
    expected = cb[EXPECTED].some(([lo, hi]) => r.status >= lo && r.status <= hi);
    tags.expected_response = String(expected);
  }
  emit('http_reqs', 1, tags);
  emit('http_req_duration', r.timings.duration, tags);
  emit('http_req_blocked', r.timings.blocked, tags);
  emit('http_req_connecting', r.timings.connecting, tags);
  emit('http_req_tls_handshaking', r.timings.tls_handshaking, tags);
  emit('http_req_sending', r.timings.sending, tags);
  emit('http_req_waiting', r.timings.waiting, tags);
  emit('http_req_receiving', r.timings.receiving, tags);
  if (cb) emit('http_req_failed', expected ? 0 : 1, tags);
  emit('data_sent', r.bytesSent, tagsNow());
  emit('data_received', r.bytesReceived, tagsNow());
  if (params.throw ?? rt.options.throw) {
    if (r.error_code) throw new Error(r.error);
  }
  return new Response(r, { method: method.toUpperCase(), url: u, headers, body: payload });
}

export const get = (url, params) => request('GET', url, null, params);
export const head = (url, params) => request('HEAD', url, null, params);
export const post = (url, body, params) => request('POST', url, body, params);
export const put = (url, body, params) => request('PUT', url, body, params);
export const patch = (url, body, params) => request('PATCH', url, body, params);
export const del = (url, body, params) => request('DELETE', url, body, params);
export const options = (url, body, params) => request('OPTIONS', url, body, params);

function notImplemented(name) {
  return () => { throw new Error(`harness: http.${name} is not implemented (k6 has it)`); };
}

export const batch = notImplemented('batch');
export const asyncRequest = notImplemented('asyncRequest');
export const file = notImplemented('file');
export const cookieJar = notImplemented('cookieJar');

export default {
  request, get, head, post, put, patch, del, options, batch, asyncRequest, file, cookieJar,
  expectedStatuses, setResponseCallback,
};
