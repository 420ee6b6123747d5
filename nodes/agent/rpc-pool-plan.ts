/**
 * Pure decisions of a combined node (`porten run --rpc-workers …`): parsing
 * the worker list, how much each worker lends, and where a model's layers go.
 * Table-tested in test/unit/rpc-pool-plan.test.ts; effects live in rpc-pool.ts.
 */
import type { RpcDevice } from '../engines/rpc-client';

export interface RpcWorkerSpec {
  /** `host:port` as llama-server's `--rpc` takes it. */
  endpoint: string;
  /** The most this node uses of that worker (`host:port=MB`); else what the worker reports free, less a margin. */
  capMb?: number;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * `host:port[=MB],…` → worker specs. Hosts may be names, IPv4 or `[IPv6]`;
 * duplicates are refused (the same worker twice would be counted twice).
 */
export function parseRpcWorkers(text: string): Parsed<RpcWorkerSpec[]> {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) return { ok: false, error: '--rpc-workers needs at least one host:port' };
  const out: RpcWorkerSpec[] = [];
  for (const item of items) {
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):(\d{1,5})(?:=(\d+))?$/.exec(item);
    if (!m) return { ok: false, error: `--rpc-workers: '${item}' is not host:port or host:port=MB` };
    const port = Number(m[2]);
    if (port < 1 || port > 65535) return { ok: false, error: `--rpc-workers: port ${port} in '${item}' is out of range` };
    const endpoint = `${m[1]}:${port}`;
    if (out.some((w) => w.endpoint === endpoint)) return { ok: false, error: `--rpc-workers: ${endpoint} is listed twice` };
    const capMb = m[3] === undefined ? undefined : Number(m[3]);
    if (capMb !== undefined && capMb < 1) return { ok: false, error: `--rpc-workers: '${item}' lends no memory` };
    out.push(capMb === undefined ? { endpoint } : { endpoint, capMb });
  }
  return { ok: true, value: out };
}

/** Share of a worker's reported free memory the node counts on when no cap is given (the rest is headroom). */
export const FREE_MEMORY_SHARE = 0.9;

/** What one worker lends, in MB: its cap, but never more than it reports free. */
export function lentMb(spec: RpcWorkerSpec, devices: RpcDevice[]): number {
  const freeMb = Math.floor(devices.reduce((s, d) => s + d.freeBytes, 0) / (1024 * 1024));
  const usable = Math.floor(freeMb * FREE_MEMORY_SHARE);
  return spec.capMb === undefined ? usable : Math.min(spec.capMb, freeMb);
}

export interface PlacementInput {
  /** The node's own budget (its GPUs, or its RAM when it has none). */
  localMb: number;
  /** The node's own accelerators llama-server sees (`--list-devices`, RPC excluded); 0 on a CPU-only machine. */
  localDevices: number;
  workers: Array<{ endpoint: string; lentMb: number }>;
  /** Repeating layers of the model (`block_count`); needed to keep a CPU-only node's share local. */
  nLayers?: number;
}

export interface Placement {
  endpoints: string[];
  /** `--tensor-split`: local accelerators first (llama-server lists them before RPC devices), then each worker. */
  split: number[];
  /** `--n-gpu-layers`: 999 = all on devices; fewer keeps the rest on this machine's CPU. */
  gpuLayers: number;
}

/**
 * Where a model's layers go, in proportion to the memory each part lends.
 * With local accelerators every layer is offloaded and the split names them
 * too; on a CPU-only node the devices are the workers alone, so the node's own
 * share is the layers kept off them (`-ngl` < layers). Pure.
 */
export function placeLayers(p: PlacementInput): Placement {
  const workers = p.workers.filter((w) => w.lentMb > 0);
  const endpoints = workers.map((w) => w.endpoint);
  const remote = workers.reduce((s, w) => s + w.lentMb, 0);
  const local = Math.max(0, p.localMb);
  if (p.localDevices > 0) {
    const each = Math.floor(local / p.localDevices);
    return { endpoints, split: [...Array.from({ length: p.localDevices }, () => each), ...workers.map((w) => w.lentMb)], gpuLayers: 999 };
  }
  const split = workers.map((w) => w.lentMb);
  if (!p.nLayers || local === 0 || remote === 0) return { endpoints, split, gpuLayers: remote === 0 ? 0 : 999 };
  const onWorkers = Math.min(p.nLayers, Math.ceil((p.nLayers * remote) / (remote + local)));
  return { endpoints, split, gpuLayers: onWorkers };
}

/** `llama-server --list-devices` output → this machine's own devices (RPC ones excluded). Pure. */
export function parseListDevices(out: string): Array<{ name: string; totalMb: number; freeMb: number }> {
  const devices: Array<{ name: string; totalMb: number; freeMb: number }> = [];
  for (const line of out.split('\n')) {
    const m = /^\s+([A-Za-z][\w-]*\d*): .*\((\d+) MiB, (\d+) MiB free\)\s*$/.exec(line);
    if (!m || m[1].startsWith('RPC')) continue;
    devices.push({ name: m[1], totalMb: Number(m[2]), freeMb: Number(m[3]) });
  }
  return devices;
}
