import type { LedgerRow } from '../hub/ingest-types';

interface Entry {
  row: LedgerRow;
  /** Changed since the Hub last acknowledged it. */
  dirty: boolean;
  /** The Hub has seen some version of it. */
  sent: boolean;
  /** Written to this object's storage in its current state. */
  stored: boolean;
}

/** A request still running after this long has its open row written (short ones are written once, when they end). */
export const PERSIST_OPEN_AFTER_MS = 100;

/**
 * A NodeLink's usage-ledger rows on their way to the Hub. A row is written to
 * the NodeLink's own SQLite when its request ends (before the client's stream
 * closes, so a request the client saw end is durably on the ledger) and, for
 * a request still running after PERSIST_OPEN_AFTER_MS, once while open
 * (`persistOpen`, on a timer: a storage write holds back every outgoing
 * message of the object until it is committed, so none is made before a
 * request's first byte). Rows leave storage only once the Hub acknowledged
 * them ended. So a NodeLink that restarts loses no row of a request that had
 * ended or had been running for 100 ms: on start, rows its predecessor left
 * open are closed as errors (their requests died with it) and sent on. The
 * Hub ingests by `rid`, so a batch sent twice counts once.
 */
export class Outbox {
  private readonly rows = new Map<string, Entry>();
  /** How many rows are dirty: kept as they change, since the reporter asks on every request (twice). */
  private dirtyRows = 0;
  /** Rows that ended before this NodeLink started: its predecessor's in-flight requests. */
  readonly interrupted: number;

  constructor(
    private readonly sql: SqlStorage,
    now: number,
  ) {
    sql.exec('CREATE TABLE IF NOT EXISTS outbox (rid TEXT PRIMARY KEY, row TEXT NOT NULL)');
    let interrupted = 0;
    for (const { row } of sql.exec<{ row: string }>('SELECT row FROM outbox')) {
      const r = JSON.parse(row) as LedgerRow;
      if (r.ended === null) {
        Object.assign(r, { ended: now, outcome: 'error', total_ms: now - r.started });
        this.write(r);
        interrupted++;
      }
      this.put({ row: r, dirty: true, sent: false, stored: true });
    }
    this.interrupted = interrupted;
  }

  get size(): number {
    return this.rows.size;
  }

  /** Rows the Hub has not yet acknowledged in their current state. */
  get dirty(): number {
    return this.dirtyRows;
  }

  begin(row: LedgerRow): void {
    const e: Entry = { row, dirty: true, sent: false, stored: false };
    this.put(e);
    if (row.ended !== null) this.store(e);
  }

  /** Writes the open rows of requests running for at least PERSIST_OPEN_AFTER_MS, in one transaction; true when any. */
  persistOpen(now: number): boolean {
    const due = [...this.rows.values()].filter((e) => !e.stored && e.row.ended === null && now - e.row.started >= PERSIST_OPEN_AFTER_MS);
    for (const e of due) this.store(e);
    return due.length > 0;
  }

  /** Whether some open row is not yet in storage (the NodeLink keeps its persist timer going). */
  get unstoredOpen(): boolean {
    for (const e of this.rows.values()) if (!e.stored && e.row.ended === null) return true;
    return false;
  }

  end(rid: string, patch: Partial<LedgerRow>): void {
    const e = this.rows.get(rid);
    if (!e || e.row.ended !== null) return;
    Object.assign(e.row, patch);
    this.mark(e, true);
    this.store(e);
  }

  /** The request was refused before its first byte and goes elsewhere: it is not this node's row. */
  withdraw(rid: string): void {
    const e = this.rows.get(rid);
    if (!e || e.row.ended !== null) return;
    if (!e.sent) {
      this.remove(e);
      if (e.stored) this.sql.exec('DELETE FROM outbox WHERE rid = ?', rid);
      return;
    }
    // The Hub saw it open: tell it to forget this node's claim, then drop it.
    e.row.withdrawn = true;
    e.row.ended = Date.now();
    this.mark(e, true);
    this.store(e);
  }

  /** The rows to send now (at most `limit`), oldest first. */
  batch(limit: number): LedgerRow[] {
    const out: LedgerRow[] = [];
    for (const e of this.rows.values()) {
      if (!e.dirty) continue;
      out.push({ ...e.row });
      if (out.length >= limit) break;
    }
    return out;
  }

  /** The Hub stored `sent`: ended rows leave storage; open ones stay until they end. */
  acked(sent: LedgerRow[]): void {
    const gone: string[] = [];
    for (const s of sent) {
      const e = this.rows.get(s.rid);
      if (!e) continue;
      e.sent = true;
      // Changed again while the batch was in flight: it goes out once more.
      if (e.row.ended !== s.ended || e.row.withdrawn !== s.withdrawn) continue;
      this.mark(e, false);
      if (e.row.ended !== null) {
        this.remove(e);
        if (e.stored) gone.push(s.rid);
      }
    }
    for (let i = 0; i < gone.length; i += 64) {
      const ids = gone.slice(i, i + 64);
      this.sql.exec(`DELETE FROM outbox WHERE rid IN (${ids.map(() => '?').join(',')})`, ...ids);
    }
  }

  /** Adds (or replaces) a row, keeping the dirty count. */
  private put(e: Entry): void {
    const old = this.rows.get(e.row.rid);
    if (old) this.remove(old);
    this.rows.set(e.row.rid, e);
    if (e.dirty) this.dirtyRows++;
  }

  private remove(e: Entry): void {
    if (this.rows.get(e.row.rid) !== e) return;
    this.rows.delete(e.row.rid);
    if (e.dirty) this.dirtyRows--;
  }

  private mark(e: Entry, dirty: boolean): void {
    if (e.dirty !== dirty) this.dirtyRows += dirty ? 1 : -1;
    e.dirty = dirty;
  }

  private store(e: Entry): void {
    e.stored = true;
    this.write(e.row);
  }

  private write(row: LedgerRow): void {
    this.sql.exec('INSERT OR REPLACE INTO outbox (rid, row) VALUES (?, ?)', row.rid, JSON.stringify(row));
  }
}
