import type { HttpClient, Resolved } from './http-client';
import type { ResponseHead } from './http-head';

export interface ProbeResult {
  status: number;
  /** null when the origin did not say */
  size: number | null;
  acceptsRanges: boolean;
  /** validator to detect that the remote file changed between two runs */
  etag: string | null;
  /** sha256 the origin vouches for: Hugging Face's `x-linked-etag` (on its redirect to the CDN) */
  linkedSha256: string | null;
  /** size from `x-linked-size`, which Hugging Face sends with it */
  linkedSize: number | null;
  /** where the bytes are after redirects, with the headers still valid there (no token on a CDN) */
  resolved: Resolved;
  /** true when HEAD was refused and a one-byte ranged GET answered instead */
  viaGet: boolean;
}

/** Statuses that mean "this file is not for you": asking again with a GET would not change them. */
const FINAL = new Set([401, 404, 407, 410, 451]);

class StopAfterHead extends Error {}

const num = (v: string | undefined) => (v !== undefined && /^\d{1,15}$/.test(v.trim()) ? Number(v.trim()) : null);
/** `"9f86d0…"` or `W/"…"` → the 64-hex sha256, or null for anything else (a git blob sha1, an S3 md5). */
function sha256Of(etag: string | undefined): string | null {
  const m = /^(?:W\/)?"?([0-9a-fA-F]{64})"?$/.exec(etag?.trim() ?? '');
  return m ? m[1].toLowerCase() : null;
}
function strongValidator(h: ResponseHead): string | null {
  const etag = h.headers.etag ?? h.headers['last-modified'];
  // Weak validators (W/) may stay equal across byte changes; do not trust them for splicing.
  return etag && !etag.startsWith('W/') ? etag : null;
}

/**
 * Asks the origin about a file without fetching its body (the disk-space check must come before
 * any byte): HEAD, following redirects, noting `x-linked-etag` / `x-linked-size` wherever they
 * appear on the way. Some origins and CDNs refuse HEAD (405, 501, or 403 from a URL signed for GET
 * only); then a GET of byte 0 answers the same questions. 401, 404, 407, 410 and 451 are returned as
 * they are (the caller explains them). Network and redirect errors propagate.
 */
export async function probe(client: HttpClient, url: string, headers: Record<string, string>, signal: AbortSignal): Promise<ProbeResult> {
  let linkedSha256: string | null = null;
  let linkedSize: number | null = null;
  const note = (h: ResponseHead) => {
    linkedSha256 ??= sha256Of(h.headers['x-linked-etag']);
    linkedSize ??= num(h.headers['x-linked-size']);
  };
  const head = await client.follow({ method: 'HEAD', url, headers, signal, onRedirect: note, onHead: () => 'skip' });
  note(head.head);
  const base = (h: ResponseHead, resolved: Resolved, viaGet: boolean) => ({ status: h.status, linkedSha256, linkedSize, resolved, viaGet });
  if (head.head.status >= 200 && head.head.status < 300) {
    const h = head.head;
    return {
      ...base(h, head, false),
      size: num(h.headers['content-length']),
      acceptsRanges: /\bbytes\b/i.test(h.headers['accept-ranges'] ?? ''),
      etag: strongValidator(h),
    };
  }
  if (FINAL.has(head.head.status)) return { ...base(head.head, head, false), size: null, acceptsRanges: false, etag: null };

  // HEAD refused: one byte by GET tells size and range support. A 200 would stream the whole file,
  // so its body is cut off right after the head (the connection is dropped, not reused).
  let got: ResponseHead | null = null;
  let resolved: Resolved = head;
  try {
    resolved = await client.follow({
      url,
      headers: { ...headers, range: 'bytes=0-0' },
      signal,
      onRedirect: note,
      onHead: (h) => {
        got = h;
        if (h.status === 206) return 'skip';
        throw new StopAfterHead();
      },
    });
  } catch (err) {
    if (!(err instanceof StopAfterHead)) throw err;
  }
  const h = got as ResponseHead | null;
  if (!h) return { ...base(head.head, head, true), size: null, acceptsRanges: false, etag: null };
  note(h);
  const { range: _range, ...plain } = resolved.headers;
  const where = { url: resolved.url, headers: plain };
  if (h.status === 206) {
    const m = /^bytes 0-0\/(\d+)$/.exec(h.headers['content-range'] ?? '');
    return { ...base(h, where, true), size: m ? Number(m[1]) : null, acceptsRanges: m !== null, etag: strongValidator(h) };
  }
  const ok = h.status >= 200 && h.status < 300;
  return { ...base(h, where, true), size: ok ? num(h.headers['content-length']) : null, acceptsRanges: false, etag: ok ? strongValidator(h) : null };
}
