import type { CatalogEntry } from './catalog';
import type { ModelPhase, NodeHardware } from '../protocol';

/** The Hub's rows as the store returns them, and the conversions between SQLite values and them. */
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

export type Row = Record<string, SqlStorageValue>;

/** A catalog entry's columns from `id` to `upstream_url`, in the order the models table declares them. */
export function entryValues(e: CatalogEntry): SqlStorageValue[] {
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

export function toModel(r: Row): ModelRow {
  return {
    ...(r as unknown as ModelRow),
    enabled: r.enabled === 1,
    allow_unverified: r.allow_unverified === 1,
    capabilities: JSON.parse(String(r.capabilities)) as string[],
  };
}

export function toNode(r: Row): NodeRow {
  return {
    ...(r as unknown as NodeRow),
    online: r.online === 1,
    engines: JSON.parse(String(r.engines)) as string[],
    inventory: JSON.parse(String(r.inventory)) as NodeRow['inventory'],
    hardware: typeof r.hardware === 'string' ? (JSON.parse(r.hardware) as NodeHardware) : null,
  };
}
