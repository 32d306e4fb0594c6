// api.js: the one way pages call the server. Same-origin fetch with the
// session cookie; errors become ApiError carrying the error body's code and message.

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || 'http_' + status;
    this.details = e;
  }
}

export async function api(method, path, body, headers = {}) {
  const init = { method, headers: { Accept: 'application/json', ...headers }, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, { error: { code: 'network', message: 'Could not reach Boxoffice. Check your connection and try again.' } });
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const get = (path) => api('GET', path);

// getPage fetches one page of a paged list: its items and the cursor of
// the next page (the X-Next-Cursor header), null on the last.
export async function getPage(path) {
  let res;
  try {
    res = await fetch(path, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, { error: { code: 'network', message: 'Could not reach Boxoffice. Check your connection and try again.' } });
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data);
  return { items: data || [], next: res.headers.get('X-Next-Cursor') };
}
export const post = (path, body, headers) => api('POST', path, body ?? {}, headers);
export const del = (path) => api('DELETE', path);

// me returns the signed-in account, or null. The session cookie is
// HttpOnly; the server sets a readable bo_signed_in=1 beside it, so a page
// without a session does not ask (and log a 401 in the console).
export async function me() {
  if (!document.cookie.split('; ').includes('bo_signed_in=1')) return null;
  try { return await get('/api/me'); } catch (e) { if (e.status === 401) return null; throw e; }
}
