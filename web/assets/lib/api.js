// fetch wrapper for the edge's JSON APIs. Never throws for HTTP errors: every failure becomes
// `{ok: false, status, code, message}` so panels can show the API's own error text.

/**
 * @param {string} path
 * @param {{token?: string, method?: string, body?: unknown, signal?: AbortSignal}} [opts]
 * @returns {Promise<{ok: true, status: number, data: any} | {ok: false, status: number, code: string, message: string}>}
 */
export async function api(path, opts = {}) {
  const headers = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method: opts.method ?? 'GET',
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
    });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    return { ok: false, status: 0, code: 'network_error', message: `Could not reach the edge: ${err?.message ?? err}` };
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (res.ok) return { ok: true, status: res.status, data };
  return { ok: false, status: res.status, ...errorOf(data, res) };
}

/** The OpenAI-shaped error of a body, or a readable fallback. */
export function errorOf(data, res) {
  const e = data && typeof data === 'object' ? data.error : null;
  if (e && typeof e.message === 'string') return { code: String(e.code ?? e.type ?? 'error'), message: e.message };
  return { code: `http_${res.status}`, message: `${res.status} ${res.statusText || 'error'}` };
}

/** One line for an error panel: method, path, status, code and the API's message. */
export function describeError(what, r) {
  return `${what} failed: ${r.status ? `HTTP ${r.status}` : 'no response'} ${r.code} — ${r.message}`;
}
