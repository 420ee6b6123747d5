import type { IngestAck, LinkReport } from '../hub/ingest-types';
import type { LinkConfig } from './config';
import type { Outbox } from './outbox';

export interface ReporterDeps {
  outbox: Outbox;
  config: LinkConfig;
  /** Everything of the report but its rows, as of now. */
  status: () => Omit<LinkReport, 'rows' | 'at'>;
  send: (report: LinkReport) => Promise<IngestAck>;
  /** The Hub asked for the node's hello again (it lost track of the connection). */
  resync: () => Promise<void>;
  /** A backstop alarm for rows that could not be sent (the object may be evicted before a timer fires). */
  backstop: (at: number) => void;
  log: (msg: string, err: unknown) => void;
}

/** Retry delay after a failed send; doubled per failure up to the cap. */
const RETRY_MS = 500;
const RETRY_MAX_MS = 30_000;

/**
 * Sends the NodeLink's batches to the Hub: ledger rows plus in-flight counts,
 * saturation and liveness. A batch goes out `batchMs` after the first change,
 * at once when `batchRows` rows wait, or at once when `urgent` (a slot freed
 * while requests queue at the Hub, a node turned suspect). One send at a time;
 * what changes meanwhile rides the next one. Failed sends are retried with
 * backoff, and rows stay in the outbox (and its storage) until acknowledged.
 */
export class Reporter {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Infinity;
  private sending: Promise<void> | null = null;
  private again = false;
  private failures = 0;
  /** Status changed since the last report (in-flight counts, suspect, heartbeat). */
  private statusDirty = false;

  constructor(private readonly d: ReporterDeps) {}

  /** Something changed; report within the batch interval (or now, when enough rows wait). */
  changed(status = false): void {
    if (status) this.statusDirty = true;
    if (this.d.outbox.dirty >= this.d.config.batchRows) this.now();
    else this.after(this.d.config.batchMs);
  }

  /** Report as soon as possible. */
  urgent(): void {
    this.statusDirty = true;
    this.now();
  }

  /** Sends whatever waits (the alarm's backstop, and tests). */
  async flush(): Promise<void> {
    clearTimeout(this.timer ?? null);
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.sending) {
      this.again = true;
      return this.sending;
    }
    this.sending = this.loop().finally(() => (this.sending = null));
    return this.sending;
  }

  /**
   * The alarm's backstop: sends what waits unless a batch timer is armed and not yet due (a timer lost to an
   * eviction, or a send that failed, leaves none armed).
   */
  async flushIfDue(): Promise<void> {
    if (this.timer && Date.now() < this.timerAt) return;
    await this.flush();
  }

  get pending(): boolean {
    return this.statusDirty || this.d.outbox.dirty > 0;
  }

  private now(): void {
    this.after(0);
  }

  private after(ms: number): void {
    const at = Date.now() + ms;
    if (this.timer && this.timerAt <= at) return;
    clearTimeout(this.timer ?? null);
    this.timerAt = at;
    this.timer = setTimeout(() => void this.flush(), ms);
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      if (!this.pending) return;
      const rows = this.d.outbox.batch(this.d.config.batchRows);
      this.statusDirty = false;
      let ack: IngestAck;
      try {
        ack = await this.d.send({ ...this.d.status(), rows, at: Date.now() });
      } catch (err) {
        this.statusDirty = true;
        this.failures++;
        const delay = Math.min(RETRY_MAX_MS, RETRY_MS * 2 ** (this.failures - 1));
        this.d.log('report to the Hub failed; retrying', err);
        this.d.backstop(Date.now() + delay + 1000);
        this.after(delay);
        return;
      }
      this.failures = 0;
      this.d.outbox.acked(rows);
      if (ack.resync) await this.d.resync().catch((err: unknown) => this.d.log('resync with the Hub failed', err));
      // More rows than one batch holds: keep going.
      if (this.d.outbox.dirty >= this.d.config.batchRows) this.again = true;
      else if (this.d.outbox.dirty > 0) this.after(this.d.config.batchMs);
    } while (this.again);
  }
}
