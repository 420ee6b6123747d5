import type { CatalogEntry, Seed } from './catalog';
import type { ModelPhase, NodeHardware } from '../protocol';

/**
 * The Hub's storage: DDL, numbered migrations and typed queries. Nothing else
 * in the Hub writes SQL.
 */
const MIGRATIONS: string[] = [
  `CREATE TABLE models (
     id TEXT PRIMARY KEY, enabled INTEGER NOT NULL, description TEXT NOT NULL,
     context_length INTEGER NOT NULL, capabilities TEXT NOT NULL, vram_mb REAL NOT NULL,
     engine TEXT NOT NULL, weights_url TEXT NOT NULL, sha256 TEXT, bytes INTEGER,
     upstream_url TEXT, created INTEGER NOT NULL);
   CREATE TABLE nodes (
     id TEXT PRIMARY KEY, online INTEGER NOT NULL, conn_id TEXT, vram_budget_mb REAL NOT NULL,
     max_concurrency INTEGER NOT NULL, agent_version TEXT NOT NULL, engines TEXT NOT NULL,
     inventory TEXT NOT NULL, connected_at INTEGER, last_seen INTEGER);
   CREATE TABLE replicas (
     node_id TEXT NOT NULL, model_id TEXT NOT NULL, phase TEXT NOT NULL,
     done_bytes INTEGER NOT NULL DEFAULT 0, total_bytes INTEGER NOT NULL DEFAULT 0,
     vram_mb REAL, started_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
     PRIMARY KEY (node_id, model_id));
   CREATE TABLE load_failures (model_id TEXT PRIMARY KEY, node_id TEXT NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL, at INTEGER NOT NULL);`,
  `ALTER TABLE replicas ADD COLUMN last_used_at INTEGER;
   CREATE TABLE demand (model_id TEXT NOT NULL, minute INTEGER NOT NULL, served INTEGER NOT NULL DEFAULT 0,
     unmet INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (model_id, minute));
   CREATE TABLE decisions (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, rule TEXT NOT NULL,
     outcome TEXT NOT NULL, model TEXT NOT NULL, node TEXT, reason TEXT NOT NULL);`,
  // Tenancy (queries in tenancy-store.ts): secrets only as SHA-256 hashes; the usage ledger holds no content.
  `CREATE TABLE api_keys (id TEXT PRIMARY KEY, name TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, prefix TEXT NOT NULL,
     created INTEGER NOT NULL, revoked_at INTEGER, models TEXT, regions TEXT, owner TEXT, min_trust TEXT,
     rpm INTEGER, tpm INTEGER, quota_tokens INTEGER, quota_period TEXT);
   CREATE TABLE node_records (id TEXT PRIMARY KEY, key_hash TEXT UNIQUE, region TEXT NOT NULL, trust TEXT NOT NULL,
     owner TEXT, created INTEGER NOT NULL, revoked_at INTEGER);
   CREATE TABLE enrollments (user_code TEXT PRIMARY KEY, device_hash TEXT NOT NULL UNIQUE, created INTEGER NOT NULL,
     expires_at INTEGER NOT NULL, interval_s INTEGER NOT NULL, last_poll_at INTEGER, status TEXT NOT NULL,
     claimed_at INTEGER, hostname TEXT, node_id TEXT, region TEXT, trust TEXT, owner TEXT);
   CREATE TABLE usage (id INTEGER PRIMARY KEY AUTOINCREMENT, key_id TEXT NOT NULL, node_id TEXT, model TEXT NOT NULL,
     prompt_tokens INTEGER NOT NULL DEFAULT 0, completion_tokens INTEGER NOT NULL DEFAULT 0,
     started_at INTEGER NOT NULL, ended_at INTEGER, outcome TEXT);
   CREATE INDEX usage_by_key ON usage (key_id, started_at);
   CREATE INDEX usage_by_time ON usage (started_at);`,
  // When an operator last wrote the entry (POST /admin/v1/models); NULL: the entry follows catalog/models.json.
  `ALTER TABLE models ADD COLUMN edited_at INTEGER;`,
  // The data plane (src/hub/ingest.ts): ledger rows arrive in batches from NodeLinks, identified by the request's id,
  // so a batch ingested twice counts once. Metric state survives Hub restarts in one row per family set.
  `ALTER TABLE usage ADD COLUMN request_id TEXT;
   CREATE UNIQUE INDEX usage_by_request ON usage (request_id);
   ALTER TABLE api_keys ADD COLUMN max_inflight INTEGER;
   CREATE TABLE metric_state (name TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  // Scheduling (issue 14): per-model queue bound, node speeds learned from progress reports, per-model arrival histories.
  `ALTER TABLE models ADD COLUMN queue_max INTEGER;
   CREATE TABLE node_speeds (node_id TEXT PRIMARY KEY, download_bps REAL, download_n INTEGER NOT NULL DEFAULT 0,
     load_bps REAL, load_n INTEGER NOT NULL DEFAULT 0, updated INTEGER NOT NULL);
   CREATE TABLE model_arrivals (model_id TEXT PRIMARY KEY, history TEXT NOT NULL);`,
  // Node agent as a product: the catalog's allow_unverified flag, the last footprint a node measured
  // (kept after the replica goes, so the planner sizes the next load from it), the hello's hardware.
  `ALTER TABLE models ADD COLUMN allow_unverified INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE models ADD COLUMN measured_mb REAL;
   ALTER TABLE models ADD COLUMN measured_node TEXT;
   ALTER TABLE models ADD COLUMN measured_at INTEGER;
   ALTER TABLE nodes ADD COLUMN hardware TEXT;`,
];

/** How many planner decisions the explanation log keeps. */
export const DECISIONS_KEPT = 500;

export interface ModelRow {
  id: string;
  enabled: boolean;
  description: string;
  context_length: number;
  capabilities: string[];
  vram_mb: number;
  engine: 'builtin' | 'openai' | 'llama-server';
  weights_url: string;
  sha256: string | null;
  bytes: number | null;
  upstream_url: string | null;
  created: number;
  /** When an operator last wrote the entry; null while it follows the seed file. */
  edited_at: number | null;
  /** The catalog accepts these weights without any sha256 (see CatalogEntry.weights.allow_unverified). */
  allow_unverified: boolean;
  /** The last footprint a node measured after loading this model (kept after unload), MiB. */
  measured_mb: number | null;
  measured_node: string | null;
  measured_at: number | null;
  /** Requests that may wait for this model at once (catalog `queue_max`); null: the edge default. */
  queue_max: number | null;
}

export interface NodeRow {
  id: string;
  online: boolean;
  conn_id: string | null;
  vram_budget_mb: number;
  max_concurrency: number;
  agent_version: string;
  engines: string[];
  /** `sha256` only where the node's downloader verified the file (what verified readiness claims check). */
  inventory: Array<{ model: string; bytes: number; sha256?: string }>;
  last_seen: number | null;
  /** What the node's hello said about its hardware (null for agents that do not say). */
  hardware: NodeHardware | null;
}

export interface ReplicaRow {
  node_id: string;
  model_id: string;
  phase: ModelPhase;
  done_bytes: number;
  total_bytes: number;
  vram_mb: number | null;
  started_at: number;
  updated_at: number;
  last_used_at: number | null;
}

export interface DecisionRow {
  seq: number;
  at: number;
  rule: string;
  outcome: string;
  model: string;
  node: string | null;
  reason: string;
}

export interface NodeSpeedRow {
  node_id: string;
  download_bps: number | null;
  download_n: number;
  load_bps: number | null;
  load_n: number;
  updated: number;
}

export interface LoadFailure {
  model_id: string;
  node_id: string;
  code: string;
  message: string;
  at: number;
}

type Row = Record<string, SqlStorageValue>;

export class HubStore {
  constructor(private readonly sql: SqlStorage) {}

  migrate(): void {
    this.sql.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    const row = this.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'schema_version'`).toArray()[0];
    let version = row ? Number(row.value) : 0;
    for (; version < MIGRATIONS.length; version++) this.sql.exec(MIGRATIONS[version]);
    this.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)`, String(version));
  }

  /**
   * Applies the seed catalog on start. The rule: an entry missing from the store is inserted; an entry no operator
   * has written follows the seed file (so a catalog update reaches the fleet with the next deploy), except
   * `enabled`, which stays what the operator last set; an entry an operator wrote (`putModel`) is never touched
   * again. Withheld seed entries (demo models on an edge without a demo origin) are removed unless an operator wrote them.
   */
  upsertSeed(seed: Seed, now: number): void {
    for (const e of seed.entries) {
      this.sql.exec(
        `INSERT INTO models (id, enabled, description, context_length, capabilities, vram_mb, engine, weights_url, sha256, bytes, upstream_url, queue_max, allow_unverified, created)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET description = excluded.description, context_length = excluded.context_length,
           capabilities = excluded.capabilities, vram_mb = excluded.vram_mb, engine = excluded.engine,
           weights_url = excluded.weights_url, sha256 = excluded.sha256, bytes = excluded.bytes, upstream_url = excluded.upstream_url,
           queue_max = excluded.queue_max, allow_unverified = excluded.allow_unverified
         WHERE models.edited_at IS NULL`,
        ...entryValues(e),
        Math.floor(now / 1000),
      );
    }
    for (const id of seed.withheld) this.sql.exec('DELETE FROM models WHERE id = ? AND edited_at IS NULL', id);
  }

  /** An operator's write: every field, `enabled` included; from now on the seed file leaves this entry alone. */
  putModel(e: CatalogEntry, now: number): void {
    this.sql.exec(
      `INSERT INTO models (id, enabled, description, context_length, capabilities, vram_mb, engine, weights_url, sha256, bytes, upstream_url, queue_max, allow_unverified, created, edited_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(id) DO UPDATE SET enabled = excluded.enabled, description = excluded.description,
         context_length = excluded.context_length, capabilities = excluded.capabilities, vram_mb = excluded.vram_mb,
         engine = excluded.engine, weights_url = excluded.weights_url, sha256 = excluded.sha256, bytes = excluded.bytes,
         upstream_url = excluded.upstream_url, queue_max = excluded.queue_max, allow_unverified = excluded.allow_unverified,
         edited_at = excluded.edited_at`,
      ...entryValues(e),
      Math.floor(now / 1000),
      now,
    );
  }

  models(): ModelRow[] {
    return this.sql.exec<Row>('SELECT * FROM models ORDER BY id').toArray().map(toModel);
  }

  model(id: string): ModelRow | null {
    const row = this.sql.exec<Row>('SELECT * FROM models WHERE id = ?', id).toArray()[0];
    return row ? toModel(row) : null;
  }

  /** Keeps a node's measurement of a model's footprint; it outlives the replica. */
  recordFootprint(modelId: string, mb: number, nodeId: string, now: number): void {
    this.sql.exec('UPDATE models SET measured_mb = ?, measured_node = ?, measured_at = ? WHERE id = ?', mb, nodeId, now, modelId);
  }

  setModelEnabled(id: string, enabled: boolean): boolean {
    return this.sql.exec('UPDATE models SET enabled = ? WHERE id = ?', enabled ? 1 : 0, id).rowsWritten > 0;
  }

  nodes(): NodeRow[] {
    return this.sql.exec<Row>('SELECT * FROM nodes ORDER BY id').toArray().map(toNode);
  }

  node(id: string): NodeRow | null {
    const row = this.sql.exec<Row>('SELECT * FROM nodes WHERE id = ?', id).toArray()[0];
    return row ? toNode(row) : null;
  }

  upsertNode(n: Omit<NodeRow, 'online' | 'last_seen' | 'hardware'> & { hardware?: NodeHardware | null }, now: number): void {
    this.sql.exec(
      `INSERT INTO nodes (id, online, conn_id, vram_budget_mb, max_concurrency, agent_version, engines, inventory, connected_at, last_seen, hardware)
       VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(id) DO UPDATE SET online = 1, conn_id = excluded.conn_id, vram_budget_mb = excluded.vram_budget_mb,
         max_concurrency = excluded.max_concurrency, agent_version = excluded.agent_version, engines = excluded.engines,
         inventory = excluded.inventory, connected_at = excluded.connected_at, last_seen = excluded.last_seen, hardware = excluded.hardware`,
      n.id,
      n.conn_id,
      n.vram_budget_mb,
      n.max_concurrency,
      n.agent_version,
      JSON.stringify(n.engines),
      JSON.stringify(n.inventory),
      now,
      now,
      n.hardware ? JSON.stringify(n.hardware) : null,
    );
  }

  setInventory(nodeId: string, inventory: NodeRow['inventory']): void {
    this.sql.exec('UPDATE nodes SET inventory = ? WHERE id = ?', JSON.stringify(inventory), nodeId);
  }

  /** The capacity the planner may use (the node's claim within ceilings and operator caps, see src/security/claims.ts). */
  setNodeCapacity(nodeId: string, vramBudgetMb: number, maxConcurrency: number): void {
    this.sql.exec('UPDATE nodes SET vram_budget_mb = ?, max_concurrency = ? WHERE id = ?', vramBudgetMb, maxConcurrency, nodeId);
  }

  touchNode(nodeId: string, now: number): void {
    this.sql.exec('UPDATE nodes SET last_seen = ? WHERE id = ?', now, nodeId);
  }

  /** Marks a node offline only if `connId` is still its current connection (a stale socket closing must not unseat a newer one). */
  setNodeOffline(nodeId: string, connId: string): boolean {
    const changed = this.sql.exec('UPDATE nodes SET online = 0 WHERE id = ? AND conn_id = ?', nodeId, connId).rowsWritten > 0;
    if (changed) this.sql.exec('DELETE FROM replicas WHERE node_id = ?', nodeId);
    return changed;
  }

  replicas(modelId?: string): ReplicaRow[] {
    const rows = modelId
      ? this.sql.exec<Row>('SELECT * FROM replicas WHERE model_id = ?', modelId).toArray()
      : this.sql.exec<Row>('SELECT * FROM replicas').toArray();
    return rows.map((r) => r as unknown as ReplicaRow);
  }

  upsertReplica(r: Omit<ReplicaRow, 'started_at' | 'updated_at' | 'last_used_at'>, now: number): void {
    this.sql.exec(
      `INSERT INTO replicas (node_id, model_id, phase, done_bytes, total_bytes, vram_mb, started_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(node_id, model_id) DO UPDATE SET phase = excluded.phase, done_bytes = excluded.done_bytes,
         total_bytes = excluded.total_bytes, vram_mb = COALESCE(excluded.vram_mb, replicas.vram_mb), updated_at = excluded.updated_at`,
      r.node_id,
      r.model_id,
      r.phase,
      r.done_bytes,
      r.total_bytes,
      r.vram_mb,
      now,
      now,
    );
  }

  touchReplica(nodeId: string, modelId: string, now: number): void {
    this.sql.exec('UPDATE replicas SET last_used_at = ? WHERE node_id = ? AND model_id = ?', now, nodeId, modelId);
  }

  setReplicaPhase(nodeId: string, modelId: string, phase: ModelPhase, now: number): void {
    this.sql.exec('UPDATE replicas SET phase = ?, updated_at = ? WHERE node_id = ? AND model_id = ?', phase, now, nodeId, modelId);
  }

  deleteReplica(nodeId: string, modelId: string): void {
    this.sql.exec('DELETE FROM replicas WHERE node_id = ? AND model_id = ?', nodeId, modelId);
  }

  replaceReplicas(nodeId: string, loaded: Array<{ model: string; phase: ModelPhase; vram_mb?: number }>, now: number): void {
    this.sql.exec('DELETE FROM replicas WHERE node_id = ?', nodeId);
    for (const l of loaded) {
      if (l.phase === 'stopped' || l.phase === 'failed') continue;
      this.upsertReplica({ node_id: nodeId, model_id: l.model, phase: l.phase, done_bytes: 0, total_bytes: 0, vram_mb: l.vram_mb ?? null }, now);
    }
  }

  recordFailure(f: LoadFailure): void {
    this.sql.exec(
      'INSERT OR REPLACE INTO load_failures (model_id, node_id, code, message, at) VALUES (?, ?, ?, ?, ?)',
      f.model_id,
      f.node_id,
      f.code,
      f.message,
      f.at,
    );
  }

  clearFailure(modelId: string): void {
    this.sql.exec('DELETE FROM load_failures WHERE model_id = ?', modelId);
  }

  failures(): LoadFailure[] {
    return this.sql.exec<Row>('SELECT * FROM load_failures').toArray() as unknown as LoadFailure[];
  }

  bumpDemand(modelId: string, minute: number, kind: 'served' | 'unmet'): void {
    const col = kind === 'served' ? 'served' : 'unmet';
    this.sql.exec(
      `INSERT INTO demand (model_id, minute, ${col}) VALUES (?, ?, 1)
       ON CONFLICT(model_id, minute) DO UPDATE SET ${col} = ${col} + 1`,
      modelId,
      minute,
    );
  }

  /** Ledger rows from `sinceMinute` on; older rows are pruned in the same call. */
  demandSince(sinceMinute: number): Array<{ model: string; minute: number; served: number; unmet: number }> {
    this.sql.exec('DELETE FROM demand WHERE minute < ?', sinceMinute);
    return this.sql.exec<Row>('SELECT model_id AS model, minute, served, unmet FROM demand').toArray() as unknown as Array<{
      model: string;
      minute: number;
      served: number;
      unmet: number;
    }>;
  }

  /** Ledger rows from `sinceMinute` on, oldest first, without pruning (the dashboard's demand chart). */
  demandRows(sinceMinute: number): Array<{ model: string; minute: number; served: number; unmet: number }> {
    return this.sql
      .exec<Row>('SELECT model_id AS model, minute, served, unmet FROM demand WHERE minute >= ? ORDER BY minute, model_id', sinceMinute)
      .toArray() as unknown as Array<{ model: string; minute: number; served: number; unmet: number }>;
  }

  appendDecisions(rows: Array<Omit<DecisionRow, 'seq'>>): void {
    for (const d of rows) {
      this.sql.exec(
        'INSERT INTO decisions (at, rule, outcome, model, node, reason) VALUES (?, ?, ?, ?, ?, ?)',
        d.at,
        d.rule,
        d.outcome,
        d.model,
        d.node,
        d.reason,
      );
    }
    if (rows.length) this.sql.exec('DELETE FROM decisions WHERE seq <= (SELECT MAX(seq) FROM decisions) - ?', DECISIONS_KEPT);
  }

  decisions(limit: number): DecisionRow[] {
    return this.sql.exec<Row>('SELECT * FROM decisions ORDER BY seq DESC LIMIT ?', limit).toArray() as unknown as DecisionRow[];
  }

  nodeSpeeds(): NodeSpeedRow[] {
    return this.sql.exec<Row>('SELECT * FROM node_speeds').toArray() as unknown as NodeSpeedRow[];
  }

  putNodeSpeed(r: NodeSpeedRow): void {
    this.sql.exec(
      `INSERT OR REPLACE INTO node_speeds (node_id, download_bps, download_n, load_bps, load_n, updated) VALUES (?, ?, ?, ?, ?, ?)`,
      r.node_id,
      r.download_bps,
      r.download_n,
      r.load_bps,
      r.load_n,
      r.updated,
    );
  }

  /** Per-model arrival histories as stored (JSON text; the caller validates). */
  arrivals(): Array<{ model_id: string; history: string }> {
    return this.sql.exec<Row>('SELECT model_id, history FROM model_arrivals').toArray() as unknown as Array<{ model_id: string; history: string }>;
  }

  putArrivals(rows: Array<{ model_id: string; history: string }>): void {
    for (const r of rows) this.sql.exec('INSERT OR REPLACE INTO model_arrivals (model_id, history) VALUES (?, ?)', r.model_id, r.history);
  }

  /** Saved metric state (src/hub/metrics.ts), or null. */
  metricState(name: string): string | null {
    const row = this.sql.exec<{ value: string }>('SELECT value FROM metric_state WHERE name = ?', name).toArray()[0];
    return row ? row.value : null;
  }

  saveMetricState(name: string, value: string): void {
    this.sql.exec('INSERT OR REPLACE INTO metric_state (name, value) VALUES (?, ?)', name, value);
  }

  failure(modelId: string): LoadFailure | null {
    const row = this.sql.exec<Row>('SELECT * FROM load_failures WHERE model_id = ?', modelId).toArray()[0];
    return row ? (row as unknown as LoadFailure) : null;
  }
}

/** A catalog entry's columns from `id` to `upstream_url`, in the order the models table declares them. */
function entryValues(e: CatalogEntry): SqlStorageValue[] {
  return [
    e.id,
    e.enabled ? 1 : 0,
    e.description,
    e.context_length,
    JSON.stringify(e.capabilities),
    e.vram_mb,
    e.engine,
    e.weights.url,
    e.weights.sha256 ?? null,
    e.weights.bytes ?? null,
    e.upstream_url ?? null,
    e.queue_max ?? null,
    e.weights.allow_unverified ? 1 : 0,
  ];
}

function toModel(r: Row): ModelRow {
  return {
    ...(r as unknown as ModelRow),
    enabled: r.enabled === 1,
    allow_unverified: r.allow_unverified === 1,
    capabilities: JSON.parse(String(r.capabilities)) as string[],
  };
}

function toNode(r: Row): NodeRow {
  return {
    ...(r as unknown as NodeRow),
    online: r.online === 1,
    engines: JSON.parse(String(r.engines)) as string[],
    inventory: JSON.parse(String(r.inventory)) as NodeRow['inventory'],
    hardware: typeof r.hardware === 'string' ? (JSON.parse(r.hardware) as NodeHardware) : null,
  };
}
