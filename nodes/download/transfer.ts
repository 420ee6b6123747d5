import { open, rm, type FileHandle } from 'node:fs/promises';
import { backoffMs, type BackoffPolicy } from './backoff';
import { DownloadError } from './errors';
import type { WriteFn } from './batch-writer';
import { FetchFailure, fetchRange } from './fetch-range';
import type { HttpClient, Resolved } from './http-client';
import { flushPolicy, isComplete, type Segment } from './plan';
import { statePath, writePartialState } from './partial-state';
import { SequentialHasher } from './sequential-hasher';
import { coalesced } from '../../src/protocol/coalesce';

export interface Tuning {
  stallMs: number;
  /** retries per segment without progress */
  retries: number;
  backoff: BackoffPolicy;
  /** false: node:http for plain http:// too (default: the raw client) */
  rawHttp?: boolean;
}

export interface TransferArgs {
  /** the file's URL as given (the resume sidecar is keyed by it) */
  url: string;
  headers: Record<string, string>;
  /** where the bytes actually are after redirects (a CDN, with no credentials), when already known */
  resolved?: Resolved;
  /** final path; the data goes to `partialFile`, progress to the sidecar beside it */
  dest: string;
  partialFile: string;
  /** null = unknown until the body ends (only possible without ranges) */
  total: number | null;
  etag: string | null;
  /** mutated in place as bytes land; fresh (all done = 0) or resumed from the sidecar */
  segments: Segment[];
  ranged: boolean;
  /** how many range requests run at once */
  connections: number;
  fresh: boolean;
  tuning: Tuning;
  signal: AbortSignal;
  onProgress(doneBytes: number, totalBytes: number): void;
  /** kept-alive connections and read buffers shared by all pieces */
  client: HttpClient;
}

export interface TransferResult {
  total: number;
  sha256: string;
  fetchedBytes: number;
}

/**
 * Fills `partialFile` from the origin: parallel range segments with per-segment retries, or one
 * stream from byte 0 when ranges are unavailable (also when the origin turns out to ignore them).
 * Persists segment progress every few MB so a kill loses less than a segment. Returns the size and
 * sha256 of what landed on disk; it does not judge them (the caller verifies).
 */
export async function transfer(a: TransferArgs): Promise<TransferResult> {
  const fd = await open(a.partialFile, a.fresh ? 'w+' : 'r+');
  try {
    let fetched = 0;
    if (a.ranged && a.total !== null) {
      try {
        const sha256 = await runRanged(a, fd, (n) => (fetched += n));
        return { total: a.total, sha256, fetchedBytes: fetched };
      } catch (err) {
        if (!(err instanceof FetchFailure && err.kind === 'range-ignored')) throw err;
        // The origin advertised ranges but ignores them: fall back to one stream from byte 0, and
        // drop the sidecar, which would otherwise vouch for bytes the single stream overwrites.
        await rm(statePath(a.dest), { force: true });
      }
    }
    const { total, sha256 } = await runSingle(a, fd, (n) => (fetched += n));
    return { total, sha256, fetchedBytes: fetched };
  } finally {
    await fd.close();
  }
}

async function runRanged(a: TransferArgs, fd: FileHandle, onFetched: (n: number) => void): Promise<string> {
  const total = a.total as number;
  if (a.fresh) await fd.truncate(total); // sparse: reserves the size, not the blocks
  const segs = a.segments;
  const conns = Math.max(1, Math.min(a.connections, segs.length));
  // Sized per connection's share: bounds what a kill loses (see flushPolicy) and keeps writes multi-MB.
  const policy = flushPolicy(Math.ceil(total / conns), conns);
  const hasher = new SequentialHasher(a.partialFile, (p) => onDiskUntil(segs, p));
  // Serialised: a save asked for during one runs once more after it.
  const save = coalesced(() => writePartialState(a.dest, { url: a.url, total, etag: a.etag, segments: segs }));
  const report = () => a.onProgress(sumDone(segs), total);
  let sinceSave = 0;
  await save();

  const attempt = new AbortController();
  const stop = () => attempt.abort(a.signal.reason);
  a.signal.addEventListener('abort', stop, { once: true });
  let firstError: unknown = null;
  let next = 0;
  // Each lane takes the next unfinished piece in file order, so the bytes on disk grow from the front.
  const lane = async () => {
    for (let seg = segs[next++]; seg && !attempt.signal.aborted; seg = segs[next++]) {
      await runSegment(a, seg, true, attempt.signal, policy.bufferBytes, onFetched, async (at, chunks, len) => {
        await writeAll(fd, chunks, at, len);
        seg.done = at + len - seg.start;
        hasher.written(at, chunks, len);
        report();
        sinceSave += len;
        if (sinceSave >= policy.saveEveryBytes) {
          sinceSave = 0;
          void save();
        }
      });
    }
  };
  try {
    await Promise.all(
      Array.from({ length: conns }, () =>
        lane().catch((err) => {
          // First failure stops the siblings; their abort errors are noise.
          firstError ??= err;
          attempt.abort(err);
        }),
      ),
    );
  } finally {
    a.signal.removeEventListener('abort', stop);
    await save(); // the resume point, also after a failure or an abort
    if (firstError || !isComplete(segs)) hasher.dispose();
  }
  if (firstError) throw firstError;
  if (!isComplete(segs)) throw new DownloadError('download_failed', 'segments incomplete after transfer');
  return hasher.digest(total);
}

async function runSingle(a: TransferArgs, fd: FileHandle, onFetched: (n: number) => void): Promise<{ total: number; sha256: string }> {
  // Without ranges nothing can be resumed: start from byte 0 and keep no sidecar.
  const seg: Segment = { start: 0, end: a.total ?? Number.MAX_SAFE_INTEGER, done: 0 };
  a.segments.splice(0, a.segments.length, seg);
  const known = a.total !== null;
  let hasher: SequentialHasher | null = null;
  const bufferBytes = flushPolicy(a.total ?? 64 << 20, 1).bufferBytes;
  const restart = async () => {
    seg.done = 0;
    await fd.truncate(0);
    hasher?.dispose();
    hasher = new SequentialHasher(a.partialFile, (p) => Math.max(p, seg.done));
  };
  await restart();
  const h = () => hasher as SequentialHasher;
  try {
    await runSegment(
      a,
      seg,
      false,
      a.signal,
      bufferBytes,
      onFetched,
      async (at, chunks, len) => {
        await writeAll(fd, chunks, at, len);
        seg.done = at + len;
        h().written(at, chunks, len);
        a.onProgress(seg.done, a.total ?? 0);
      },
      restart,
      known,
    );
  } catch (err) {
    h().dispose();
    throw err;
  }
  const total = seg.done;
  return { total, sha256: await h().digest(total) };
}

async function runSegment(
  a: TransferArgs,
  seg: Segment,
  ranged: boolean,
  signal: AbortSignal,
  bufferBytes: number,
  onFetched: (n: number) => void,
  write: WriteFn,
  restart?: () => Promise<void>,
  knownEnd = true,
): Promise<void> {
  let attempt = 0;
  for (;;) {
    if (ranged && seg.start + seg.done >= seg.end) return;
    const before = seg.done;
    const target = a.resolved ?? { url: a.url, headers: a.headers };
    try {
      const start = seg.start + seg.done;
      await fetchRange({
        url: target.url,
        headers: target.headers,
        start,
        end: knownEnd ? seg.end : null,
        ranged,
        bufferBytes,
        stallMs: a.tuning.stallMs,
        signal,
        write,
        onReceived: onFetched,
        rawHttp: a.tuning.rawHttp,
        client: a.client,
        // Later pieces go straight to where this one was redirected (Hugging Face's CDN).
        onResolved: (r) => (a.resolved = r),
      });
      if (!ranged) return;
    } catch (err) {
      // A signed CDN URL expires (403) or vanishes: resolve again from the file's own URL.
      const expired = err instanceof FetchFailure && err.kind === 'http' && a.resolved !== undefined && [401, 403, 404, 410].includes(err.status ?? 0);
      if (expired) a.resolved = undefined;
      if (signal.aborted || !(err instanceof FetchFailure) || (!err.retryable && !expired)) throw err;
      // Progress proves the origin works; only consecutive fruitless attempts count toward giving up.
      if (ranged && seg.done > before) attempt = 0;
      if (attempt >= a.tuning.retries) {
        throw new DownloadError('download_failed', `giving up after ${attempt + 1} attempts at bytes ${seg.start + seg.done}-${seg.end - 1}: ${err.message}`, {
          cause: err,
        });
      }
      await sleep(backoffMs(attempt++, a.tuning.backoff), signal);
      if (!ranged) await restart?.();
    }
  }
}

async function writeAll(fd: FileHandle, chunks: Uint8Array[], at: number, len: number): Promise<void> {
  try {
    const { bytesWritten } = await fd.writev(chunks, at);
    if (bytesWritten < len) {
      const rest = Buffer.concat(chunks).subarray(bytesWritten);
      let off = 0;
      while (off < rest.length) off += (await fd.write(rest, off, rest.length - off, at + bytesWritten + off)).bytesWritten;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC') throw new DownloadError('disk_full', 'disk full while writing the download', { cause: err });
    throw err;
  }
}

function onDiskUntil(segs: readonly Segment[], pos: number): number {
  for (const s of segs) if (pos >= s.start && pos < s.end) return Math.max(pos, s.start + s.done);
  return pos;
}

const sumDone = (segs: readonly Segment[]) => segs.reduce((n, s) => n + s.done, 0);

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
