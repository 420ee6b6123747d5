import { resolve } from 'node:path';
import { runJob } from './ensure-file';
import { DownloadError, toDownloadError } from './errors';
import { ProgressHub } from './progress';
import type { EnsureFileOptions, EnsureFileResult } from './types';

export type { DownloadProgress } from './progress';
export type { EnsureFileOptions, EnsureFileResult } from './types';
export type { BackoffPolicy } from './backoff';
export { DownloadError } from './errors';
export type { DownloadErrorCode } from './errors';
export { hfFromEnv, resolveUrl, type HfSettings } from './resolve-url';
export { redactText, redactUrl } from './redact';

interface Job {
  promise: Promise<EnsureFileResult>;
  progress: ProgressHub;
  controller: AbortController;
  callers: number;
  sha256: string | null;
}

/** dest (absolute) → the one download in progress for it in this process. */
const inflight = new Map<string, Job>();

/**
 * Makes `dest` hold the verified file and resolves with it. Exactly one download per dest runs
 * in a process: concurrent callers join it and all receive its progress. A caller's abort only
 * detaches that caller; the download itself stops when its last caller has aborted (after saving
 * its resume point, so the next call fetches only what is missing). Rejects with DownloadError.
 */
export function ensureFile(opts: EnsureFileOptions): Promise<EnsureFileResult> {
  if (opts.signal?.aborted) return Promise.reject(new DownloadError('cancelled', 'download cancelled before it started'));
  const key = resolve(opts.dest);
  const sha = opts.sha256?.toLowerCase() ?? null;
  const running = inflight.get(key);
  if (running?.controller.signal.aborted) {
    // The previous download is winding down (saving its resume point); start after it.
    return running.promise.then(
      () => ensureFile(opts),
      () => ensureFile(opts),
    );
  }
  if (running && running.sha256 !== sha) {
    return Promise.reject(new DownloadError('download_failed', `${key} is already being downloaded with sha256 ${running.sha256 ?? '(none)'}`));
  }
  return join(running ?? start(key, opts, sha), opts);
}

function start(key: string, opts: EnsureFileOptions, sha: string | null): Job {
  const controller = new AbortController();
  const progress = new ProgressHub();
  const job: Job = { promise: null as unknown as Promise<EnsureFileResult>, progress, controller, callers: 0, sha256: sha };
  job.promise = runJob(opts, progress, controller.signal)
    .catch((err) => {
      throw toDownloadError(err, controller.signal);
    })
    .finally(() => {
      progress.finish();
      inflight.delete(key);
    });
  job.promise.catch(() => {}); // observed by joiners; never an unhandled rejection
  inflight.set(key, job);
  return job;
}

function join(job: Job, opts: EnsureFileOptions): Promise<EnsureFileResult> {
  job.callers++;
  const off = opts.onProgress ? job.progress.add(opts.onProgress) : () => false;
  return new Promise<EnsureFileResult>((resolvePromise, reject) => {
    const onAbort = () => {
      off();
      job.callers--;
      if (job.callers > 0) return reject(new DownloadError('cancelled', 'download cancelled'));
      // Last caller: stop the download and settle once it has saved its resume point.
      job.controller.abort(new DownloadError('cancelled', 'download cancelled'));
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    job.promise.then(resolvePromise, reject).finally(() => opts.signal?.removeEventListener('abort', onAbort));
  });
}
