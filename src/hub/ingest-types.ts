/**
 * What NodeLinks report to the Hub in batches (`Hub.ingest`): usage-ledger rows,
 * in-flight counts, saturation and liveness. Plain serialisable data: it
 * crosses Durable Object RPC.
 */

export type LedgerOutcome = 'ok' | 'error' | 'cancelled';

/** One request as the ledger records it, identified by `rid` (the response id): ingesting a row twice changes nothing. */
export interface LedgerRow {
  rid: string;
  /** Ledger key id: a managed key's id, or `bootstrap`. */
  key: string;
  model: string;
  node: string | null;
  started: number;
  /** Null while the request is in flight. */
  ended: number | null;
  outcome: LedgerOutcome | null;
  prompt: number;
  completion: number;
  /** Edge-measured: dispatch to the first byte the client could read; and to the end. */
  first_byte_ms: number | null;
  total_ms: number | null;
  /** Agent-measured at the engine. */
  engine_ttft_ms: number | null;
  engine_total_ms: number | null;
  /**
   * The request went to another node after all (refused before its first byte):
   * forget this node's open row. Ignored once the row has ended or moved on.
   */
  withdrawn?: boolean;
}

export interface LinkReport {
  node: string;
  /** The socket this report speaks for; null when the node is not connected. */
  conn: string | null;
  /** Changes every time the NodeLink starts: a new boot means its predecessor's in-memory state is gone. */
  boot: string;
  at: number;
  rows: LedgerRow[];
  /** Requests in flight per model, now (absolute, so a lost report costs nothing). */
  inflight: Record<string, number>;
  /** Per model: since when the node has turned requests away because every slot was taken. */
  saturated: Record<string, number>;
  /** The node stopped answering (a missed first-reply deadline or silence): route around it. */
  suspect: boolean;
  /** The last heartbeat or ping the NodeLink saw. */
  lastBeat: number | null;
  /** Dispatches turned away since the last report, by reason (model_gone, busy, suspect, …): metrics only. */
  refusals?: Record<string, number>;
  /** The most stream bytes the NodeLink held for one slow client since the last report (flow control at work). */
  maxBufferedBytes?: number;
}

/** `resync`: the Hub does not know this connection (it restarted, or thought the node gone); the NodeLink re-announces the node. */
export type IngestAck = { ok: true; resync: boolean };
