export interface DownloadProgress {
  doneBytes: number;
  totalBytes: number;
  bytesPerSec: number;
}

export type ProgressListener = (p: DownloadProgress) => void;

const INTERVAL_MS = 250;

/**
 * Fans one download's progress out to every joined caller: a tick at most every 250 ms while
 * bytes move, and exactly one final report from `finish`. A listener that throws is dropped, so
 * one bad callback cannot break the download or the other callers.
 */
export class ProgressHub {
  private listeners = new Set<ProgressListener>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private done = 0;
  private total = 0;
  private rate = 0;
  private lastAt = 0;
  private lastDone = 0;

  add(fn: ProgressListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  start(doneBytes: number, totalBytes: number): void {
    this.done = this.lastDone = doneBytes;
    this.total = totalBytes;
    this.lastAt = Date.now();
    this.timer ??= setInterval(() => this.tick(), INTERVAL_MS);
    this.timer.unref?.();
  }

  update(doneBytes: number, totalBytes: number): void {
    this.done = doneBytes;
    this.total = totalBytes;
  }

  private tick(): void {
    const now = Date.now();
    const dt = (now - this.lastAt) / 1000;
    if (dt > 0) {
      const instant = Math.max(0, this.done - this.lastDone) / dt;
      // Smoothed so the ETA shown to users does not jump with every TCP hiccup.
      this.rate = this.rate === 0 ? instant : 0.7 * this.rate + 0.3 * instant;
    }
    this.lastAt = now;
    this.lastDone = this.done;
    this.emit();
  }

  private emit(): void {
    const p: DownloadProgress = { doneBytes: this.done, totalBytes: this.total, bytesPerSec: Math.round(this.rate) };
    for (const fn of this.listeners) {
      try {
        fn(p);
      } catch {
        this.listeners.delete(fn);
      }
    }
  }

  /** Stops ticking; with final numbers, reports them once to everyone still listening. */
  finish(final?: { doneBytes: number; totalBytes: number; bytesPerSec: number }): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (final) {
      this.done = final.doneBytes;
      this.total = final.totalBytes;
      this.rate = final.bytesPerSec;
      this.emit();
    }
    this.listeners.clear();
  }
}
