import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';

const MAX_REDIRECTS = 5;

/**
 * GET with node:http(s) rather than fetch: measured here on a 200 MB loopback body, fetch's web
 * streams read at ~0.33-0.5 s where node:http reads at ~0.29 s (curl: ~0.27 s). Follows
 * redirects (Hugging Face answers 302 to its CDN) and, like fetch, drops Authorization when a
 * redirect leaves the original origin so a token never reaches a third party.
 */
export async function httpGet(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<IncomingMessage> {
  let current = new URL(url);
  let hdrs = { ...headers };
  for (let hop = 0; ; hop++) {
    const res = await request(current, hdrs, signal);
    const location = res.headers.location;
    if (!location || res.statusCode === undefined || res.statusCode < 300 || res.statusCode >= 400 || res.statusCode === 304) return res;
    res.resume();
    if (hop >= MAX_REDIRECTS) throw new Error(`too many redirects from ${url}`);
    const next = new URL(location, current);
    if (next.origin !== current.origin) {
      hdrs = Object.fromEntries(Object.entries(hdrs).filter(([k]) => k.toLowerCase() !== 'authorization'));
    }
    current = next;
  }
}

function request(url: URL, headers: Record<string, string>, signal: AbortSignal): Promise<IncomingMessage> {
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.get(url, { headers, signal }, resolve);
    req.on('error', reject);
  });
}
