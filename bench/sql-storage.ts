import { DatabaseSync, type StatementSync } from 'node:sqlite';

/**
 * The Durable Object `SqlStorage` API over Node's built-in SQLite, for benchmarks
 * that run the Hub's own store and ingestion code outside workerd (the same
 * SQLite engine; workerd adds its own per-call overhead, so figures from here
 * are a lower bound on the Hub's CPU). Benchmarks only: never a stand-in in tests.
 */
export function nodeSqlStorage(): SqlStorage {
  const db = new DatabaseSync(':memory:');
  const cache = new Map<string, StatementSync>();
  const exec = (query: string, ...bindings: unknown[]) => {
    // Multi-statement scripts (migrations) go through exec; everything else is a prepared statement.
    if (bindings.length === 0 && query.split(';').filter((s) => s.trim()).length > 1) {
      db.exec(query);
      return cursor([], 0);
    }
    let st = cache.get(query);
    if (!st) {
      st = db.prepare(query);
      cache.set(query, st);
    }
    const args = bindings as Array<string | number | null>;
    if (/^\s*(select|with)\b/i.test(query) || /\breturning\b/i.test(query)) return cursor(st.all(...args) as Record<string, unknown>[], 0);
    const r = st.run(...args);
    return cursor([], Number(r.changes));
  };
  return { exec } as unknown as SqlStorage;
}

function cursor(rows: Record<string, unknown>[], written: number) {
  return {
    toArray: () => rows,
    one: () => {
      if (rows.length !== 1) throw new Error(`expected one row, got ${rows.length}`);
      return rows[0];
    },
    rowsWritten: written,
    [Symbol.iterator]: () => rows[Symbol.iterator](),
  };
}
