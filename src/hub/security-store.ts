/**
 * The Hub's security tables: load orders (what the Hub asked each node to
 * load, so readiness is believed only where it was ordered), nodes' claimed
 * capacity (so operator caps apply to a live node), used dashboard live
 * tickets (single use), the operator's caps on node records, and where each
 * enrollment came from.
 *
 * Its migrations run on their own version track (`security_schema_version` in
 * `meta`, after HubStore's), so this module and store.ts can each grow
 * migrations without renumbering the other's.
 */
const MIGRATIONS: string[] = [
  `CREATE TABLE load_orders (node_id TEXT NOT NULL, model_id TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (node_id, model_id));
   CREATE TABLE node_claims (node_id TEXT PRIMARY KEY, vram_budget_mb REAL NOT NULL, max_concurrency INTEGER NOT NULL);
   CREATE TABLE used_tickets (mac TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
   ALTER TABLE node_records ADD COLUMN max_budget_mb REAL;
   ALTER TABLE node_records ADD COLUMN max_concurrency INTEGER;
   ALTER TABLE enrollments ADD COLUMN source TEXT;`,
];

type Row = Record<string, SqlStorageValue>;

export class SecurityStore {
  constructor(private readonly sql: SqlStorage) {}

  /** Runs after HubStore.migrate (it alters tables created there). */
  migrate(): void {
    const row = this.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'security_schema_version'`).toArray()[0];
    let version = row ? Number(row.value) : 0;
    for (; version < MIGRATIONS.length; version++) this.sql.exec(MIGRATIONS[version]);
    this.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('security_schema_version', ?)`, String(version));
  }

  // ------------------------------------------------------------ load orders

  orderLoad(nodeId: string, modelId: string, now: number): void {
    this.sql.exec('INSERT OR REPLACE INTO load_orders (node_id, model_id, at) VALUES (?, ?, ?)', nodeId, modelId, now);
  }

  cancelOrder(nodeId: string, modelId: string): void {
    this.sql.exec('DELETE FROM load_orders WHERE node_id = ? AND model_id = ?', nodeId, modelId);
  }

  cancelOrders(nodeId: string): void {
    this.sql.exec('DELETE FROM load_orders WHERE node_id = ?', nodeId);
  }

  ordered(nodeId: string, modelId: string): boolean {
    return this.sql.exec<Row>('SELECT 1 FROM load_orders WHERE node_id = ? AND model_id = ?', nodeId, modelId).toArray().length > 0;
  }

  // ------------------------------------------------------------ claimed capacity (before caps)

  setClaim(nodeId: string, vramBudgetMb: number, maxConcurrency: number): void {
    this.sql.exec('INSERT OR REPLACE INTO node_claims (node_id, vram_budget_mb, max_concurrency) VALUES (?, ?, ?)', nodeId, vramBudgetMb, maxConcurrency);
  }

  claim(nodeId: string): { vram_budget_mb: number; max_concurrency: number } | null {
    const row = this.sql.exec<Row>('SELECT vram_budget_mb, max_concurrency FROM node_claims WHERE node_id = ?', nodeId).toArray()[0];
    return row ? { vram_budget_mb: Number(row.vram_budget_mb), max_concurrency: Number(row.max_concurrency) } : null;
  }

  // ------------------------------------------------------------ live tickets

  /** True the first time a ticket is used, false on every replay; expired entries are pruned on the way. */
  useTicket(mac: string, expiresAt: number, now: number): boolean {
    this.sql.exec('DELETE FROM used_tickets WHERE expires_at < ?', now);
    return this.sql.exec('INSERT OR IGNORE INTO used_tickets (mac, expires_at) VALUES (?, ?)', mac, expiresAt).rowsWritten > 0;
  }
}
