/**
 * The slice of workerd's SQL storage types that the Hub's store modules use, for the Node project: the Hub
 * benchmark (bench/hub-load.ts) runs those modules on Node's SQLite (bench/sql-storage.ts).
 */
type SqlStorageValue = ArrayBuffer | string | number | null;
interface SqlStorageCursor<T extends Record<string, SqlStorageValue>> extends Iterable<T> {
  toArray(): T[];
  one(): T;
  readonly rowsWritten: number;
}
interface SqlStorage {
  exec<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): SqlStorageCursor<T>;
}
