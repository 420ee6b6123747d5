import type { CatalogEntry, Seed } from './catalog';
import type { ModelPhase, NodeHardware } from '../protocol';
import { MIGRATIONS } from './store-migrations';
import {
  entryValues,
  toModel,
  toNode,
  type DecisionRow,
  type LoadFailure,
  type ModelRow,
  type NodeRow,
  type NodeSpeedRow,
  type ReplicaRow,
  type Row,
} from './store-rows';

export type { DecisionRow, LoadFailure, ModelRow, NodeRow, NodeSpeedRow, ReplicaRow } from './store-rows';

/** How many planner decisions the explanation log keeps. */
export const DECISIONS_KEPT = 500;

/**
 * The Hub's storage: typed queries over the schema in store-migrations.ts. Nothing else
 * in the Hub writes SQL.
 */
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
