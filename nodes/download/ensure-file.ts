import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { DEFAULT_BACKOFF, type BackoffPolicy } from './backoff';
import { freeBytes } from './disk';
import { DownloadError } from './errors';
import { existingVerdict } from './existing';
import { removePartial, partialPath, readPartialState, statePath } from './partial-state';
import { doneBytes, isComplete, planPieces, type Segment } from './plan';
import { probe, type ProbeResult } from './probe';
import type { ProgressHub } from './progress';
import { resolveUrl } from './resolve-url';
import { hashFile } from './sequential-hasher';
import { transfer } from './transfer';
import { recordVerified } from './verified-cache';
import type { EnsureFileOptions, EnsureFileResult } from './types';

/**
 * One download from start to verified file, for a single dest (the caller guarantees no other
 * job for it runs in this process). Order matters: trust an existing verified file; resume a
 * partial; HEAD the origin; check disk space before any body byte; transfer; verify size and
 * sha256; rename atomically; record the verdict.
 */
export async function runJob(opts: EnsureFileOptions, progress: ProgressHub, signal: AbortSignal): Promise<EnsureFileResult> {
  const started = Date.now();
  const dest = resolve(opts.dest);
  const sha = opts.sha256?.toLowerCase() ?? null;
  if (sha !== null && !/^[0-9a-f]{64}$/.test(sha)) throw new DownloadError('download_failed', `invalid sha256 ${JSON.stringify(opts.sha256)}`);
  const { url, headers } = resolveUrl(opts.url, process.env);
  await mkdir(dirname(dest), { recursive: true });
  const doProbe = () => probeOrFail(url, headers, signal);

  const existing = await existingVerdict(dest, sha, opts.bytes, doProbe);
  if (existing !== null) {
    progress.finish({ doneBytes: existing, totalBytes: existing, bytesPerSec: 0 });
    return { path: dest, bytes: existing, fetchedBytes: 0, reused: true };
  }

  let state = await readPartialState(dest);
  const partialSize = await sizeOf(partialPath(dest));
  if (state && (state.url !== url || partialSize !== state.total || (opts.bytes !== undefined && state.total !== opts.bytes))) state = null;
  if (state && isComplete(state.segments)) {
    // Killed after the last byte but before the rename: verify what is there, fetch nothing.
    const fd = await open(partialPath(dest), 'r');
    const digest = await hashFile(fd, state.total).finally(() => fd.close());
    return finalize(dest, sha, opts.bytes, state.total, digest, 0, progress, started);
  }

  const p = await doProbe();
  if (opts.bytes !== undefined && p.size !== null && p.size !== opts.bytes) {
    throw new DownloadError('download_failed', `origin has ${p.size} bytes for ${url}, expected ${opts.bytes}`);
  }
  const total = opts.bytes ?? p.size;
  if (state && (state.total !== total || state.etag !== p.etag)) state = null; // remote file changed

  const have = state ? doneBytes(state.segments) : 0;
  if (total !== null) {
    const dir = dirname(dest);
    const free = await (opts.diskFreeBytes ?? (() => freeBytes(dir)))();
    const needed = total - have;
    if (needed > free) {
      throw new DownloadError('disk_full', `not enough disk space in ${dir}: need ${needed} bytes, ${free} free`);
    }
  }

  const ranged = total !== null && total > 0 && p.acceptsRanges;
  if (!state) await removePartial(dest);
  const connections = opts.segments ?? 4;
  const segments: Segment[] = state?.segments ?? (ranged ? planPieces(total as number, connections) : []);
  progress.start(have, total ?? 0);
  const t = await transfer({
    url,
    headers,
    dest,
    partialFile: partialPath(dest),
    total,
    etag: p.etag,
    segments,
    ranged,
    connections,
    fresh: !state,
    tuning: { stallMs: opts.stallMs ?? 30_000, retries: opts.retries ?? 8, backoff: opts.backoff ?? DEFAULT_BACKOFF, rawHttp: opts.rawHttp },
    signal,
    onProgress: (done, tot) => progress.update(done, tot),
  });
  return finalize(dest, sha, opts.bytes, t.total, t.sha256, t.fetchedBytes, progress, started);
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
  await recordVerified(dest, digest);
  const secs = Math.max(0.001, (Date.now() - started) / 1000);
  progress.finish({ doneBytes: total, totalBytes: total, bytesPerSec: Math.round(fetched / secs) });
  return { path: dest, bytes: total, fetchedBytes: fetched, reused: false };
}

async function probeOrFail(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<ProbeResult> {
  let p: ProbeResult & { status: number };
  try {
    p = await probe(url, headers, signal);
  } catch (err) {
    if (signal.aborted) throw err;
    throw new DownloadError('download_failed', `cannot reach origin ${url}: ${(err as Error).message}`, { cause: err });
  }
  // 405/501: the origin refuses HEAD, so the GET will tell; other 4xx will not improve with retries.
  if (p.status >= 400 && p.status < 500 && p.status !== 405 && p.status !== 408 && p.status !== 429) {
    throw new DownloadError('download_failed', `origin answered HTTP ${p.status} for ${url}`);
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
