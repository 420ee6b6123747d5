export interface ProbeResult {
  /** null when the origin did not say */
  size: number | null;
  acceptsRanges: boolean;
  /** validator to detect that the remote file changed between two runs */
  etag: string | null;
}

/**
 * HEAD the origin: size, range support and a validator, without fetching a byte of the body
 * (the disk-space check must come before any byte). Network errors propagate to the caller; a
 * non-2xx HEAD (some CDNs refuse HEAD) yields an unknown result and the GET decides.
 */
export async function probe(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<ProbeResult & { status: number }> {
  const res = await fetch(url, { method: 'HEAD', headers, signal, redirect: 'follow' });
  await res.body?.cancel().catch(() => {});
  if (!res.ok) return { status: res.status, size: null, acceptsRanges: false, etag: null };
  const len = res.headers.get('content-length');
  const size = len !== null && /^\d+$/.test(len) ? Number(len) : null;
  const etag = res.headers.get('etag') ?? res.headers.get('last-modified');
  // Weak validators (W/) may stay equal across byte changes; do not trust them for splicing.
  const strong = etag && !etag.startsWith('W/') ? etag : null;
  return { status: res.status, size, acceptsRanges: /\bbytes\b/i.test(res.headers.get('accept-ranges') ?? ''), etag: strong };
}
