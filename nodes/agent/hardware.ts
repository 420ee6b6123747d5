import * as z from 'zod';

/**
 * Parsers for what the machine says about its hardware: the node-llama-cpp probe child
 * (hardware-probe.mjs), `nvidia-smi` CSV and `rocm-smi` JSON, `/proc/cpuinfo`. Pure; every parser
 * returns null on output it does not understand rather than guessing.
 */

const MIB = 1024 * 1024;

/** What hardware-probe.mjs prints: node-llama-cpp's view of the GPU backend it would load. */
export const LlamaReportSchema = z.object({
  /** `llama.gpu`: the backend in use; false = CPU only. */
  gpu: z.union([z.enum(['cuda', 'vulkan', 'metal']), z.literal(false)]),
  /** `llama.getVramState()`, bytes, summed over every device of the backend. */
  vram: z.object({ total: z.number().nonnegative(), used: z.number().nonnegative(), free: z.number().nonnegative(), unifiedSize: z.number().nonnegative() }),
  /** `llama.getGpuDeviceNames()` */
  devices: z.array(z.string()),
  /** `llama.cpuMathCores`: physical (performance) cores, as llama.cpp counts them for its threads. */
  cpuMathCores: z.number().int().positive().optional(),
});
export type LlamaReport = z.infer<typeof LlamaReportSchema>;

export interface GpuInfo {
  name: string;
  /** MiB; absent when only the backend's total over all devices is known. */
  vram_mb?: number;
  free_mb?: number;
}

export interface SmiReport {
  gpus: GpuInfo[];
  driver?: string;
  totalMb: number;
  freeMb: number;
}

/** The stdout of hardware-probe.mjs (its last JSON line), or null. */
export function parseLlamaReport(stdout: string): LlamaReport | null {
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    const r = LlamaReportSchema.safeParse(JSON.parse(line));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

/** The query `nvidia-smi` runs for this parser (CSV, no header, no units: MiB). */
export const NVIDIA_SMI_ARGS = ['--query-gpu=index,name,memory.total,memory.used,memory.free,driver_version', '--format=csv,noheader,nounits'];

/**
 * `nvidia-smi` CSV, one GPU per line: `0, NVIDIA H100 80GB HBM3, 81559, 0, 81080, 550.54.15`.
 * A GPU name may itself hold commas, so the fields are taken from both ends. Lines with
 * `[N/A]` or other non-numeric memory are skipped (MIG slices, GPUs in a bad state).
 */
export function parseNvidiaSmi(out: string): SmiReport | null {
  const gpus: GpuInfo[] = [];
  let driver: string | undefined;
  let totalMb = 0;
  let freeMb = 0;
  for (const raw of out.split(/\r?\n/)) {
    const f = raw.split(',').map((s) => s.trim());
    if (f.length < 6) continue;
    const [total, , free, drv] = f.slice(-4).map((s, i) => (i === 3 ? s : Number(s))) as [number, number, number, string];
    const name = f.slice(1, -4).join(', ');
    if (!Number.isFinite(total) || total <= 0 || !Number.isFinite(free) || free < 0 || !name) continue;
    gpus.push({ name, vram_mb: total, free_mb: free });
    totalMb += total;
    freeMb += free;
    driver ??= /^[\w.-]{1,64}$/.test(drv) ? drv : undefined;
  }
  return gpus.length ? { gpus, driver, totalMb, freeMb } : null;
}

/** The query `rocm-smi` runs for this parser. */
export const ROCM_SMI_ARGS = ['--showproductname', '--showmeminfo', 'vram', '--showdriverversion', '--json'];

/**
 * `rocm-smi --showproductname --showmeminfo vram --showdriverversion --json`: one object per card
 * (`card0`, …) with `VRAM Total Memory (B)` and `VRAM Total Used Memory (B)` as decimal strings,
 * `Card series` (or `Card model`) for the name, and the driver under `system`.
 */
export function parseRocmSmi(out: string): SmiReport | null {
  let json: unknown;
  try {
    json = JSON.parse(out);
  } catch {
    return null;
  }
  if (!json || typeof json !== 'object') return null;
  const gpus: GpuInfo[] = [];
  let driver: string | undefined;
  let totalMb = 0;
  let freeMb = 0;
  for (const [key, v] of Object.entries(json as Record<string, unknown>)) {
    if (!v || typeof v !== 'object') continue;
    const card = v as Record<string, unknown>;
    if (key === 'system') {
      const d = card['Driver version'];
      if (typeof d === 'string' && /^[\w.-]{1,64}$/.test(d.trim())) driver = d.trim();
      continue;
    }
    if (!/^card\d+$/.test(key)) continue;
    const total = Number(card['VRAM Total Memory (B)']);
    const used = Number(card['VRAM Total Used Memory (B)']);
    if (!Number.isFinite(total) || total <= 0) continue;
    const name = [card['Card series'], card['Card model'], key].find((n) => typeof n === 'string' && n.trim() !== '') as string;
    const t = Math.floor(total / MIB);
    const free = Number.isFinite(used) && used >= 0 ? Math.max(0, Math.floor((total - used) / MIB)) : t;
    gpus.push({ name: name.trim().slice(0, 128), vram_mb: t, free_mb: free });
    totalMb += t;
    freeMb += free;
    if (typeof card['Driver version'] === 'string') driver ??= String(card['Driver version']).trim();
  }
  return gpus.length ? { gpus, driver, totalMb, freeMb } : null;
}

/** Physical cores from Linux `/proc/cpuinfo`: distinct (physical id, core id) pairs; null when it does not say. */
export function physicalCoresFromCpuinfo(text: string): number | null {
  const cores = new Set<string>();
  let phys = '0';
  for (const line of text.split('\n')) {
    const m = /^(physical id|core id)\s*:\s*(\d+)/.exec(line);
    if (!m) continue;
    if (m[1] === 'physical id') phys = m[2];
    else cores.add(`${phys}:${m[2]}`);
  }
  return cores.size > 0 ? cores.size : null;
}
