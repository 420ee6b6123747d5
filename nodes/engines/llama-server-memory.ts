/**
 * Memory a llama-server process allocated, read from its load log (`-lv 4`):
 *
 *   load_tensors: RPC0[10.0.0.2:50052] model buffer size =    39.01 MiB
 *   llama_kv_cache:        CPU KV buffer size =    10.00 MiB
 *   sched_reserve: CUDA0 compute buffer size =    18.04 MiB
 *
 * Each line names the device (a GPU, the CPU, or an RPC worker with its
 * endpoint) and one buffer; the sum over all of them is what the model holds,
 * wherever it lives. Mapped weights (`CPU_Mapped`) count: they sit in page
 * cache that the model needs resident.
 */
const BUFFER_LINE = /^\S+ \S+ [\w~]+:\s+(\S+(?: \S+)??)\s+(?:model|KV|compute|output|RS|recurrent|cache)\s+buffer size\s*=\s*([\d.]+) MiB/;

export interface BufferLine {
  /** e.g. `CPU_Mapped`, `CUDA0`, `RPC0[10.0.0.2:50052]`. */
  device: string;
  mib: number;
}

/** One log line → the buffer it reports, or undefined. Pure. */
export function parseBufferLine(line: string): BufferLine | undefined {
  const m = BUFFER_LINE.exec(line.trim());
  if (!m) return undefined;
  const mib = Number(m[2]);
  return Number.isFinite(mib) ? { device: m[1], mib } : undefined;
}

/** The RPC endpoint a device name carries (`RPC0[host:port]` → `host:port`), else undefined. */
export function rpcEndpointOf(device: string): string | undefined {
  return /^RPC\d*\[(.+)\]$/.exec(device)?.[1];
}

/** Accumulates buffer lines of one engine process. */
export class BufferTally {
  private readonly byDevice = new Map<string, number>();

  add(line: string): void {
    const b = parseBufferLine(line);
    if (b) this.byDevice.set(b.device, (this.byDevice.get(b.device) ?? 0) + b.mib);
  }

  /** Total MiB over every device, rounded up; undefined when the log named no buffer. */
  totalMb(): number | undefined {
    if (this.byDevice.size === 0) return undefined;
    let sum = 0;
    for (const v of this.byDevice.values()) sum += v;
    return Math.ceil(sum);
  }

  devices(): Record<string, number> {
    return Object.fromEntries([...this.byDevice].map(([d, v]) => [d, Math.round(v * 100) / 100]));
  }
}
