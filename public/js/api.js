// HTTP access to the /v1 API: Bearer auth from the API key field, problem+json errors.
// Response types come from the TypeScript client's generated types (public/tsconfig.json checks them).
/** @import { components } from '../../clients/ts/src/openapi.js' */

const KEY_STORAGE = 'gradient-lab.apiKey';

export function getApiKey() {
  try {
    return localStorage.getItem(KEY_STORAGE) ?? '';
  } catch {
    // Storage can be disabled (private modes, sandboxed frames): the page still works without a key.
    return '';
  }
}

export function setApiKey(key) {
  try {
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
  } catch {
    // See getApiKey.
  }
}

/** An HTTP error carrying the server's problem+json body (RFC 9457). */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {Partial<components['schemas']['Problem']>} problem
   */
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem ?? {};
  }

  /** `[{path, message}]` field errors, possibly empty. */
  get fieldErrors() {
    return Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }
}

/** The Authorization header for the stored key, if any. */
export function authHeaders() {
  const key = getApiKey();
  return key ? { authorization: `Bearer ${key}` } : {};
}

/**
 * Calls the API. `as` is 'json' (default), 'text' or 'blob'. Throws ApiError on a non-2xx answer
 * and a plain Error when the server cannot be reached. Callers state the response type they read
 * with a JSDoc cast to the generated schema (e.g. `components['schemas']['Job']`).
 * @param {string} path
 * @param {{ method?: string, body?: unknown, as?: 'json' | 'text' | 'blob' }} [options]
 * @returns {Promise<any>}
 */
export async function api(path, { method = 'GET', body, as = 'json' } = {}) {
  const headers = authHeaders();
  // Fastify refuses an empty body declared as JSON, so the header goes only with a body.
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new Error(`Cannot reach the server (${err.message})`);
  }
  const type = res.headers.get('content-type') ?? '';
  if (!res.ok) {
    let problem = null;
    if (type.includes('json')) problem = await res.json().catch(() => null);
    else problem = { title: res.statusText, detail: await res.text().catch(() => '') };
    throw new ApiError(res.status, { status: res.status, ...problem });
  }
  if (as === 'blob') return res.blob();
  if (as === 'text') return res.text();
  if (res.status === 204) return null;
  return type.includes('json') ? res.json() : res.text();
}

/** The WebSocket URL of a job's (or, with resource 'sweeps', a sweep's) event stream, replaying from `from`. */
export function streamUrl(jobId, from, resource = 'jobs') {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const params = new URLSearchParams({ from: String(from) });
  // Browsers cannot set headers on a WebSocket; the token travels in the query instead.
  const key = getApiKey();
  if (key) params.set('access_token', key);
  return `${proto}//${location.host}/v1/${resource}/${encodeURIComponent(jobId)}/stream?${params}`;
}

/** The NDJSON event stream of a job or sweep (same events as the WebSocket), for fetch with headers. */
export function eventsUrl(jobId, from, resource = 'jobs') {
  return `/v1/${resource}/${encodeURIComponent(jobId)}/events?from=${from}`;
}
