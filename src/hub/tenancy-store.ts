import type { Trust } from '../tenancy/trust';
import type { LedgerRow } from './ingest-types';
import type { NodeRecord } from '../tenancy/eligibility';
import type { LedgerEntry, QuotaPeriod } from '../tenancy/limiter';
import type { StoredStatus } from '../tenancy/enrollment';

/**
 * Typed queries for the tenancy tables (API keys, node records, enrollments,
 * usage ledger). The DDL lives in store.ts's migrations; together they are the
 * Hub's only SQL.
 */
export interface ApiKeyRow {
  id: string;
  name: string;
  hash: string;
  prefix: string;
  created: number;
  revoked_at: number | null;
  models: string[] | null;
  regions: string[] | null;
  owner: string | null;
  min_trust: Trust | null;
  rpm: number | null;
  tpm: number | null;
  quota_tokens: number | null;
  quota_period: QuotaPeriod | null;
  /** Most requests this key may have in flight at once; null: no limit. */
  max_inflight?: number | null;
}

export interface NodeRecordRow extends NodeRecord {
  key_hash: string | null;
  created: number;
  revoked_at: number | null;
}

/** A node record as written: identity, placement, and the operator's caps (null: none). */
export interface NodeRecordWrite {
  id: string;
  key_hash: string | null;
  region: string;
  trust: Trust;
  owner: string | null;
  max_budget_mb: number | null;
  max_concurrency: number | null;
}

export interface EnrollmentRow {
  user_code: string;
  device_hash: string;
  created: number;
  expires_at: number;
  interval_s: number;
  last_poll_at: number | null;
  status: StoredStatus;
  claimed_at: number | null;
  hostname: string | null;
  node_id: string | null;
  region: string | null;
  trust: Trust | null;
  owner: string | null;
  /** The client key (see src/security/client-ip.ts) that started it; per-source caps count by it. */
  source: string | null;
}

export interface UsageGroupRow {
  bucket: number;
  key_id?: string;
  node_id?: string | null;
  model?: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
}

type Row = Record<string, SqlStorageValue>;
const GROUP_COLUMNS = { key: 'key_id', node: 'node_id', model: 'model' } as const;
/** Enrollment rows are kept a day past expiry for the operator's list, then pruned. */
const ENROLLMENT_KEEP_MS = 86_400_000;

export class TenancyStore {
  constructor(private readonly sql: SqlStorage) {}

  // ------------------------------------------------------------ API keys

  insertKey(k: ApiKeyRow): void {
    this.sql.exec(
      `INSERT INTO api_keys (id, name, hash, prefix, created, revoked_at, models, regions, owner, min_trust, rpm, tpm, quota_tokens, quota_period, max_inflight)
       VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      k.id,
      k.name,
      k.hash,
      k.prefix,
      k.created,
      json(k.models),
      json(k.regions),
      k.owner,
      k.min_trust,
      k.rpm,
      k.tpm,
      k.quota_tokens,
      k.quota_period,
      k.max_inflight ?? null,
    );
  }

  keys(): ApiKeyRow[] {
    return this.sql.exec<Row>('SELECT * FROM api_keys ORDER BY created, id').toArray().map(toKey);
  }

  keyByHash(hash: string): ApiKeyRow | null {
    const row = this.sql.exec<Row>('SELECT * FROM api_keys WHERE hash = ?', hash).toArray()[0];
    return row ? toKey(row) : null;
  }

  /** Hashes of the keys that are not revoked (the Worker's filter for keys that cannot exist). */
  liveKeyHashes(): string[] {
    return this.sql
      .exec<{ hash: string }>('SELECT hash FROM api_keys WHERE revoked_at IS NULL')
      .toArray()
      .map((r) => r.hash);
  }

  /** False when no such key; revoking twice keeps the first time. */
  revokeKey(id: string, at: number): boolean {
    return this.sql.exec('UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?', at, id).rowsWritten > 0;
  }

  // ------------------------------------------------------------ node records

  nodeRecords(): NodeRecordRow[] {
    return this.sql.exec<Row>('SELECT * FROM node_records ORDER BY id').toArray().map(toRecord);
  }

  nodeRecord(id: string): NodeRecordRow | null {
    const row = this.sql.exec<Row>('SELECT * FROM node_records WHERE id = ?', id).toArray()[0];
    return row ? toRecord(row) : null;
  }

  nodeRecordByKey(hash: string): NodeRecordRow | null {
    const row = this.sql.exec<Row>('SELECT * FROM node_records WHERE key_hash = ?', hash).toArray()[0];
    return row ? toRecord(row) : null;
  }

  /** Creates or replaces a node's record; a new key (or none) and `revoked` cleared: re-enrolling a revoked id revives it. */
  putNodeRecord(r: NodeRecordWrite, now: number): void {
    this.sql.exec(
      `INSERT INTO node_records (id, key_hash, region, trust, owner, created, revoked_at, max_budget_mb, max_concurrency)
       VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)
       ON CONFLICT(id) DO UPDATE SET key_hash = excluded.key_hash, region = excluded.region, trust = excluded.trust,
         owner = excluded.owner, revoked_at = NULL, max_budget_mb = excluded.max_budget_mb, max_concurrency = excluded.max_concurrency`,
      r.id,
      r.key_hash,
      r.region,
      r.trust,
      r.owner,
      now,
      r.max_budget_mb,
      r.max_concurrency,
    );
  }

  /** Revokes and forgets the key, so the hash can never authenticate again. */
  revokeNodeRecord(id: string, region: string, trust: Trust, now: number): void {
    this.sql.exec(
      `INSERT INTO node_records (id, key_hash, region, trust, owner, created, revoked_at) VALUES (?, NULL, ?, ?, NULL, ?, ?)
       ON CONFLICT(id) DO UPDATE SET key_hash = NULL, revoked_at = COALESCE(node_records.revoked_at, excluded.revoked_at)`,
      id,
      region,
      trust,
      now,
      now,
    );
  }

  // ------------------------------------------------------------ enrollments

  insertEnrollment(e: EnrollmentRow): void {
    this.sql.exec('DELETE FROM enrollments WHERE expires_at < ?', e.created - ENROLLMENT_KEEP_MS);
    this.sql.exec(
      `INSERT INTO enrollments (user_code, device_hash, created, expires_at, interval_s, last_poll_at, status, claimed_at, hostname, node_id, region, trust, owner, source)
       VALUES (?, ?, ?, ?, ?, NULL, ?, NULL, ?, NULL, NULL, NULL, NULL, ?)`,
      e.user_code,
      e.device_hash,
      e.created,
      e.expires_at,
      e.interval_s,
      e.status,
      e.hostname,
      e.source,
    );
  }

  /** Pending, unexpired enrollments, oldest first: what the admission caps count. */
  pendingList(now: number): Array<{ user_code: string; source: string | null; created: number }> {
    return this.sql
      .exec<Row>(`SELECT user_code, source, created FROM enrollments WHERE status = 'pending' AND expires_at > ? ORDER BY created, user_code`, now)
      .toArray() as unknown as Array<{ user_code: string; source: string | null; created: number }>;
  }

  /** Ends a pending enrollment early (evicted to make room): its agent's next poll reads `expired_token`. */
  expireEnrollment(userCode: string, now: number): void {
    this.sql.exec(`UPDATE enrollments SET expires_at = ? WHERE user_code = ? AND status = 'pending'`, now, userCode);
  }

  enrollments(): EnrollmentRow[] {
    return this.sql.exec<Row>('SELECT * FROM enrollments ORDER BY created DESC').toArray() as unknown as EnrollmentRow[];
  }

  enrollment(userCode: string): EnrollmentRow | null {
    return (this.sql.exec<Row>('SELECT * FROM enrollments WHERE user_code = ?', userCode).toArray()[0] as unknown as EnrollmentRow) ?? null;
  }

  enrollmentByDevice(deviceHash: string): EnrollmentRow | null {
    return (this.sql.exec<Row>('SELECT * FROM enrollments WHERE device_hash = ?', deviceHash).toArray()[0] as unknown as EnrollmentRow) ?? null;
  }

  updateEnrollment(e: EnrollmentRow): void {
    this.sql.exec(
      `UPDATE enrollments SET interval_s = ?, last_poll_at = ?, status = ?, claimed_at = ?, node_id = ?, region = ?, trust = ?, owner = ?
       WHERE user_code = ?`,
      e.interval_s,
      e.last_poll_at,
      e.status,
      e.claimed_at,
      e.node_id,
      e.region,
      e.trust,
      e.owner,
      e.user_code,
    );
  }

  // ------------------------------------------------------------ usage ledger

  /** One row per admitted request, written when it starts; its id goes into the lease. */
  beginUsage(keyId: string, model: string, now: number): number {
    return Number(this.sql.exec<Row>('INSERT INTO usage (key_id, model, started_at) VALUES (?, ?, ?) RETURNING id', keyId, model, now).one().id);
  }

  setUsageNode(id: number, nodeId: string): void {
    this.sql.exec('UPDATE usage SET node_id = ? WHERE id = ?', nodeId, id);
  }

  /** Closes a row exactly once: false when it was already closed (or never existed). */
  endUsage(id: number, prompt: number, completion: number, outcome: 'ok' | 'error' | 'cancelled', now: number): boolean {
    return (
      this.sql.exec(
        'UPDATE usage SET prompt_tokens = ?, completion_tokens = ?, outcome = ?, ended_at = ? WHERE id = ? AND ended_at IS NULL',
        prompt,
        completion,
        outcome,
        now,
        id,
      ).rowsWritten > 0
    );
  }

  /** A key's rows that started or ended after `since`: what the per-minute limits read. */
  recentUsage(keyId: string, since: number): LedgerEntry[] {
    return this.sql
      .exec<Row>(
        `SELECT started_at, ended_at, prompt_tokens + completion_tokens AS tokens FROM usage
       WHERE key_id = ? AND (started_at > ? OR ended_at > ?)`,
        keyId,
        since,
        since,
      )
      .toArray() as unknown as LedgerEntry[];
  }

  tokensSince(keyId: string, since: number): number {
    return Number(
      this.sql.exec<Row>('SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) AS n FROM usage WHERE key_id = ? AND started_at >= ?', keyId, since).one()
        .n,
    );
  }

  /**
   * Stores a row the data plane reported, by request id: a new row is
   * inserted; a row still open takes the report's end, node and tokens; an
   * ended row never changes again (so a repeated or late batch is harmless).
   * Says whether the row is new and whether this call ended it.
   */
  upsertUsage(r: LedgerRow): { inserted: boolean; ended: boolean } {
    const prev = this.sql.exec<Row>('SELECT ended_at FROM usage WHERE request_id = ?', r.rid).toArray()[0];
    if (prev && prev.ended_at !== null) return { inserted: false, ended: false };
    if (!prev) {
      this.sql.exec(
        `INSERT INTO usage (request_id, key_id, node_id, model, prompt_tokens, completion_tokens, started_at, ended_at, outcome)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        r.rid,
        r.key,
        r.node,
        r.model,
        r.prompt,
        r.completion,
        r.started,
        r.ended,
        r.outcome,
      );
      return { inserted: true, ended: r.ended !== null };
    }
    if (r.ended === null) {
      this.sql.exec('UPDATE usage SET node_id = ? WHERE request_id = ? AND ended_at IS NULL', r.node, r.rid);
      return { inserted: false, ended: false };
    }
    this.sql.exec(
      'UPDATE usage SET node_id = ?, prompt_tokens = ?, completion_tokens = ?, ended_at = ?, outcome = ? WHERE request_id = ? AND ended_at IS NULL',
      r.node,
      r.prompt,
      r.completion,
      r.ended,
      r.outcome,
      r.rid,
    );
    return { inserted: false, ended: true };
  }

  /** Forgets an open row that a node reported and then gave up before the request's first byte (it went elsewhere). */
  withdrawUsage(rid: string, node: string | null): void {
    this.sql.exec('DELETE FROM usage WHERE request_id = ? AND ended_at IS NULL AND node_id IS ?', rid, node);
  }

  /** Ledger rows not yet ended, fleet-wide. */
  openRows(): number {
    return Number(this.sql.exec<Row>('SELECT COUNT(*) AS n FROM usage WHERE ended_at IS NULL').one().n);
  }

  /** Requests of a key in flight (open rows), as the Hub knows them. */
  openUsage(keyId: string): number {
    return Number(this.sql.exec<Row>('SELECT COUNT(*) AS n FROM usage WHERE key_id = ? AND ended_at IS NULL', keyId).one().n);
  }

  /** Aggregated ledger: one row per time bucket and group. Column names come from a closed map, never from input. */
  usageGroups(groupBy: Array<keyof typeof GROUP_COLUMNS>, bucketMs: number, since: number): UsageGroupRow[] {
    const cols = groupBy.map((g) => GROUP_COLUMNS[g]);
    // `%` works on integers in SQLite whatever the bound type; `/` would divide as REAL (numbers bind as floats).
    const select = ['started_at - (started_at % ?) AS bucket', ...cols].join(', ');
    const group = ['bucket', ...cols].join(', ');
    return this.sql
      .exec<Row>(
        `SELECT ${select}, COUNT(*) AS requests, SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens
       FROM usage WHERE started_at >= ? GROUP BY ${group} ORDER BY ${group}`,
        bucketMs,
        since,
      )
      .toArray() as unknown as UsageGroupRow[];
  }
}

function json(v: unknown): string | null {
  return v === null || v === undefined ? null : JSON.stringify(v);
}

function parseList(v: SqlStorageValue): string[] | null {
  return v === null ? null : (JSON.parse(String(v)) as string[]);
}

function toKey(r: Row): ApiKeyRow {
  return {
    ...(r as unknown as ApiKeyRow),
    models: parseList(r.models),
    regions: parseList(r.regions),
    max_inflight: r.max_inflight === null || r.max_inflight === undefined ? null : Number(r.max_inflight),
  };
}

function toRecord(r: Row): NodeRecordRow {
  return {
    ...(r as unknown as NodeRecordRow),
    revoked: r.revoked_at !== null,
    max_budget_mb: r.max_budget_mb === null || r.max_budget_mb === undefined ? null : Number(r.max_budget_mb),
    max_concurrency: r.max_concurrency === null || r.max_concurrency === undefined ? null : Number(r.max_concurrency),
  };
}
