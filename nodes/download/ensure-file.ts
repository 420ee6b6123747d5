import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { DEFAULT_BACKOFF } from './backoff';
import { freeBytes } from './disk';
import { DownloadError } from './errors';
import { existingVerdict } from './existing';
import { HttpClient, RedirectError } from './http-client';
import { originRefusal } from './origin-errors';
import { removePartial, partialPath, readPartialState, statePath } from './partial-state';
import { doneBytes, isComplete, planPieces, type Segment } from './plan';
import { probe, type ProbeResult } from './probe';
import type { ProgressHub } from './progress';
import { hfFromEnv, resolveUrl, type ResolvedUrl } from './resolve-url';
import { hashFile } from './sequential-hasher';
import { transfer } from './transfer';
import { cachedVerdict, recordVerified } from './verified-cache';
import type { EnsureFileOptions, EnsureFileResult } from './types';

/**
 * One download from start to verified file, for a single dest (the caller guarantees no other
 * job for it runs in this process). Order matters: trust an existing verified file without asking
 * the network; probe the origin (size, ranges, the sha256 it vouches for); refuse a file no digest
 * vouches for when the caller requires one; check disk space before any body byte; resume a
 * partial; transfer; verify size and sha256; rename atomically; record the verdict.
 */
export async function runJob(opts: EnsureFileOptions, progress: ProgressHub, signal: AbortSignal): Promise<EnsureFileResult> {
  const dest = resolve(opts.dest);
  const pinned = opts.sha256?.toLowerCase() ?? null;
  if (pinned !== null && !/^[0-9a-f]{64}$/.test(pinned)) throw new DownloadError('download_failed', `invalid sha256 ${JSON.stringify(opts.sha256)}`);
  const target = resolveUrl(opts.url, opts.hf ?? hfFromEnv(process.env));
  await mkdir(dirname(dest), { recursive: true });
  const reused = await trustedWithoutNetwork(dest, pinned, opts);
  if (reused !== null) {
    progress.finish({ doneBytes: reused.bytes, totalBytes: reused.bytes, bytesPerSec: 0 });
    return { path: dest, bytes: reused.bytes, fetchedBytes: 0, reused: true, sha256: reused.sha256 };
  }
  // Killed after the last byte but before the rename: with a pinned digest (or none needed), verify
  // what is there and fetch nothing, without asking the network.
  if (pinned !== null || !opts.requireDigest) {
    const state = await readPartialState(dest);
    if (state && isComplete(state.segments) && state.url === target.url && (await sizeOf(partialPath(dest))) === state.total) {
      if (opts.bytes === undefined || opts.bytes === state.total) {
        const digest = await hashFile(partialPath(dest), state.total);
        return finalize(dest, pinned, opts.bytes, state.total, digest, 0, progress, Date.now());
      }
    }
  }
  const client = new HttpClient(opts.segments ?? 4);
  try {
    return await fetchVerified(opts, dest, pinned, target, client, progress, signal);
  } finally {
    client.close();
  }
}

/** A file at dest whose recorded verdict still holds and satisfies what is asked now; else null. */
async function trustedWithoutNetwork(dest: string, pinned: string | null, opts: EnsureFileOptions): Promise<{ bytes: number; sha256: string | null } | null> {
  const st = await stat(dest).catch(() => null);
  if (!st?.isFile() || (opts.bytes !== undefined && st.size !== opts.bytes)) return null;
  const v = await cachedVerdict(dest, st.size, st.mtimeMs);
  if (!v) return null;
  const ok = pinned !== null ? v.sha256 === pinned : v.sha256 !== null || !opts.requireDigest;
  return ok ? { bytes: st.size, sha256: v.sha256 } : null;
}

async function fetchVerified(
  opts: EnsureFileOptions,
  dest: string,
  pinned: string | null,
  target: ResolvedUrl,
  client: HttpClient,
  progress: ProgressHub,
  signal: AbortSignal,
): Promise<EnsureFileResult> {
  const started = Date.now();
  const { url, headers } = target;
  const p = await probeOrFail(client, target, signal);
  const what = target.hf?.ref ?? url;
  if (pinned !== null && p.linkedSha256 !== null && p.linkedSha256 !== pinned) {
    throw new DownloadError('verify_failed', `the catalog pins sha256 ${pinned} for ${what} but the origin says ${p.linkedSha256}: one of them changed`);
  }
  const sha = pinned ?? p.linkedSha256;
  if (sha === null && opts.requireDigest) {
    throw new DownloadError(
      'verify_failed',
      `no sha256 for ${what}: the catalog pins none and the origin sent no x-linked-etag; pin weights.sha256 in the catalog, or set weights.allow_unverified to accept the file on its size alone`,
    );
  }
  const originSize = p.linkedSize ?? p.size;
  if (p.linkedSize !== null && p.size !== null && p.linkedSize !== p.size) {
    throw new DownloadError('download_failed', `origin disagrees with itself about ${what}: x-linked-size ${p.linkedSize}, Content-Length ${p.size}`);
  }
  if (opts.bytes !== undefined && originSize !== null && originSize !== opts.bytes) {
    throw new DownloadError('download_failed', `origin has ${originSize} bytes for ${what}, expected ${opts.bytes}`);
  }
  const total = opts.bytes ?? originSize;

  const existing = await existingVerdict(dest, sha, total ?? undefined, async () => p);
  if (existing !== null) {
    progress.finish({ doneBytes: existing, totalBytes: existing, bytesPerSec: 0 });
    return { path: dest, bytes: existing, fetchedBytes: 0, reused: true, sha256: sha };
  }

  // The sidecar is keyed by the file's own URL (a CDN URL is signed and changes), and by the
  // origin's validator: a file that changed on the origin must not be spliced onto old bytes.
  const validator = p.linkedSha256 ?? p.etag;
  let state = await readPartialState(dest);
  const partialSize = await sizeOf(partialPath(dest));
  if (state && (state.url !== url || partialSize !== state.total || state.total !== total || state.etag !== validator)) state = null;
  if (state && isComplete(state.segments)) {
    // Killed after the last byte but before the rename: verify what is there, fetch nothing.
    const digest = await hashFile(partialPath(dest), state.total);
    return finalize(dest, sha, total ?? undefined, state.total, digest, 0, progress, started);
  }

  const have = state ? doneBytes(state.segments) : 0;
  if (total !== null) {
    const dir = dirname(dest);
    const free = await (opts.diskFreeBytes ?? (() => freeBytes(dir)))();
    const needed = total - have;
    if (needed > free) throw new DownloadError('disk_full', `not enough disk space in ${dir}: need ${needed} bytes, ${free} free`);
  }

  const ranged = total !== null && total > 0 && p.acceptsRanges;
  if (!state) await removePartial(dest);
  const connections = opts.segments ?? 4;
  const segments: Segment[] = state?.segments ?? (ranged ? planPieces(total as number, connections) : []);
  progress.start(have, total ?? 0);
  const t = await transfer({
    url,
    headers,
    resolved: p.resolved.url !== url ? p.resolved : undefined,
    dest,
    partialFile: partialPath(dest),
    total,
    etag: validator,
    segments,
    ranged,
    connections,
    fresh: !state,
    tuning: { stallMs: opts.stallMs ?? 30_000, retries: opts.retries ?? 8, backoff: opts.backoff ?? DEFAULT_BACKOFF, rawHttp: opts.rawHttp },
    signal,
    onProgress: (done, tot) => progress.update(done, tot),
    client,
  }).catch((err) => {
    throw originRefusal(err, target) ?? err;
  });
  return finalize(dest, sha, total ?? undefined, t.total, t.sha256, t.fetchedBytes, progress, started);
}

async function finalize(
  dest: string,
  sha: string | null,
  bytes: number | undefined,
  total: number,
  digest: string,
  fetched: number,
  progress: ProgressHub,
  started: number,
): Promise<EnsureFileResult> {
  const reason =
    bytes !== undefined && total !== bytes
      ? `size mismatch: expected ${bytes} bytes, got ${total}`
      : sha !== null && digest !== sha
        ? `sha256 mismatch: expected ${sha}, got ${digest}`
        : null;
  if (reason) {
    // A later call must start from scratch, not resume onto bytes we know are wrong.
    await removePartial(dest);
    throw new DownloadError('verify_failed', `${dest}: ${reason}`);
  }
  await rename(partialPath(dest), dest);
  await rm(statePath(dest), { force: true });
  await recordVerified(dest, sha === null ? null : digest);
  const secs = Math.max(0.001, (Date.now() - started) / 1000);
  progress.finish({ doneBytes: total, totalBytes: total, bytesPerSec: Math.round(fetched / secs) });
  return { path: dest, bytes: total, fetchedBytes: fetched, reused: false, sha256: sha === null ? null : digest };
}

async function probeOrFail(client: HttpClient, target: ResolvedUrl, signal: AbortSignal): Promise<ProbeResult> {
  let p: ProbeResult;
  try {
    p = await probe(client, target.url, target.headers, signal);
  } catch (err) {
    if (signal.aborted) throw err;
    if (err instanceof RedirectError) throw new DownloadError('download_failed', `${err.message}`, { cause: err });
    const e = err as NodeJS.ErrnoException;
    const detail = e.code ? `${e.code}${e.message && !e.message.includes(e.code) ? ` ${e.message}` : ''}` : e.message;
    throw new DownloadError('download_failed', `cannot reach origin ${new URL(target.url).host}: ${detail}`, { cause: err });
  }
  if (p.status >= 200 && p.status < 300) return p;
  const refusal = originRefusal(p.status, target);
  if (refusal) throw refusal;
  // 408, 429 and 5xx are momentary: the transfer's retries will tell. Other 4xx will not improve.
  if (p.status >= 400 && p.status < 500 && p.status !== 408 && p.status !== 429) {
    throw new DownloadError('download_failed', `origin answered HTTP ${p.status} for ${target.hf?.ref ?? target.url}`);
  }
  return p;
}

async function sizeOf(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch {
    return null;
  }
}
