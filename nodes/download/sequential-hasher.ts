import { Worker } from 'node:worker_threads';
import { runtimeFile } from '../runtime-files';

/**
 * sha256 of a file that is written out of order, computed off the event loop: a worker thread
 * (hash-worker.mjs) reads the file back from the page cache as soon as bytes are contiguous from
 * the start, so hashing overlaps the rest of the download on another core and never delays the
 * agent's token relay. The main thread only posts how far the contiguous region reaches.
 */
export class SequentialHasher {
  private readonly worker: Worker;
  private frontier = 0;
  private result: Promise<string>;
  private failure: Error | null = null;

  /** `onDiskUntil(p)`: end of the bytes already written contiguously from offset p (p itself if none). */
  constructor(
    path: string,
    private readonly onDiskUntil: (pos: number) => number,
  ) {
    this.worker = new Worker(runtimeFile('download/hash-worker.mjs'), { workerData: { path } });
    // A download that is abandoned must not keep the process alive through its hasher.
    this.worker.unref();
    this.result = new Promise<string>((resolve, reject) => {
      this.worker.on('message', (m: { digest?: string; error?: string }) => {
        if (m.digest) resolve(m.digest);
        else reject((this.failure = new Error(m.error ?? 'hash worker failed')));
      });
      this.worker.on('error', (err) => reject((this.failure = err)));
      this.worker.on('exit', (code) => reject((this.failure ??= new Error(`the hash worker exited (code ${code}) before the digest`))));
    });
    this.result.catch(() => {});
  }

  /** Call after bytes reached the file (the arguments are for the caller's bookkeeping symmetry). */
  written(_at?: number, _chunks?: readonly Uint8Array[], _len?: number): void {
    const until = this.onDiskUntil(this.frontier);
    if (until <= this.frontier || this.failure) return;
    this.frontier = until;
    this.worker.postMessage({ until });
  }

  /** Hashes whatever is left up to `total` and returns the lowercase hex digest; the worker then ends. */
  async digest(total: number): Promise<string> {
    this.worker.postMessage({ digest: total });
    return this.result;
  }

  /** Stops the worker (a failed or restarted download). */
  dispose(): void {
    void this.worker.terminate();
  }
}

/** sha256 of a whole file, in a worker thread. */
export async function hashFile(path: string, total: number): Promise<string> {
  const h = new SequentialHasher(path, () => total);
  try {
    return await h.digest(total);
  } finally {
    h.dispose();
  }
}
