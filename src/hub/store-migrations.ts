/**
 * The Hub's schema: numbered migrations, applied in order once each (HubStore.migrate).
 * Append only: a deployed Hub has run every entry before the last one it knows.
 */
export const MIGRATIONS: string[] = [
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
