// REST client for /api/v1. Authentication rides on the HttpOnly session cookie
// that POST /api/v1/session sets, so the page never holds the admin token after
// signing in. Every failure becomes an ApiError whose message is the API's own
// {"error":{"message"}} text when there is one, so pages can show it as is.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// Called on any 401 outside the sign-in request (session expired or revoked).
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

// Builds "?a=1&b=2" from an object, leaving out empty values.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

async function errorFrom(res) {
  let code = `http_${res.status}`;
  let message = '';
  try {
    const text = await res.text();
    try {
      const body = JSON.parse(text);
      if (body && body.error) {
        code = body.error.code || code;
        message = body.error.message || '';
      }
    } catch { message = text.slice(0, 200); }
  } catch { /* body unreadable: fall back to the status line */ }
  if (!message) message = `${res.status} ${res.statusText || 'request failed'}`;
  return new ApiError(res.status, code, message);
}

// request('GET', '/staff') → parsed JSON (or null for an empty body).
// opts.json: a value sent as JSON; opts.body: a raw body (File, Blob, string);
// opts.accept: Accept header; opts.raw: return the Response untouched.
export async function request(method, path, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  let body = opts.body;
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  if (opts.accept) headers.Accept = opts.accept;
  let res;
  try {
    res = await fetch(`/api/v1${path}`, { method, headers, body, credentials: 'same-origin', cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'network', `Cannot reach the Vigil API (${e.message}).`);
  }
  if (!res.ok) {
    const err = await errorFrom(res);
    if (res.status === 401 && !opts.noAuthRedirect) onUnauthorized(err);
    throw err;
  }
  if (opts.raw) return res;
  if (res.status === 204) return null;
  const text = await res.text();
  if (!text) return null;
  try { return JSON.parse(text); } catch { return text; }
}

export const get = (path, opts) => request('GET', path, opts);
export const post = (path, json, opts) => request('POST', path, { ...opts, json });
export const del = (path, opts) => request('DELETE', path, opts);

// Updates a resource. DESIGN.md says "CRUD" without naming the verb; PATCH is
// tried first and PUT used when the API answers 405 to it.
export async function update(path, json) {
  try {
    return await request('PATCH', path, { json });
  } catch (e) {
    if (e.status === 405) return request('PUT', path, { json });
    throw e;
  }
}

// One page of a list endpoint: {items, next_cursor}.
export async function list(path, params = {}) {
  const body = await get(path + query(params));
  return { items: (body && body.items) || [], next_cursor: (body && body.next_cursor) || null };
}

// Every page of a small list (sites, cameras for select boxes), bounded so a
// huge fleet cannot hang the page.
export async function listAll(path, params = {}, maxPages = 20) {
  const all = [];
  let cursor = null;
  for (let i = 0; i < maxPages; i++) {
    const page = await list(path, { ...params, cursor, limit: 200 });
    all.push(...page.items);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return all;
}

export async function signIn(token) {
  return request('POST', '/session', { json: { token }, noAuthRedirect: true });
}
export async function signOut() {
  return request('DELETE', '/session', { noAuthRedirect: true });
}

// True when the session cookie is valid. The cookie is HttpOnly, so the only
// way to know is to ask; GET /api/v1/session is preferred, and a cheap list
// call stands in when the API has no such route.
export async function checkSession() {
  try {
    await request('GET', '/session', { noAuthRedirect: true });
    return true;
  } catch (e) {
    if (e.status === 401) return false;
    if (e.status !== 404 && e.status !== 405) throw e;
  }
  try {
    await request('GET', '/workers?limit=1', { noAuthRedirect: true });
    return true;
  } catch (e) {
    if (e.status === 401) return false;
    throw e;
  }
}

export function snapshotUrl(id) {
  return `/api/v1/snapshots/${encodeURIComponent(id)}`;
}
