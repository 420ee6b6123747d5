/** Probes the budget detection depends on; injected so the decision is a pure function. */
export interface MemoryProbes {
  /** The configured budget (PORTEN_VRAM_BUDGET_MB), if any. */
  configuredMb?: number;
  /** Output of `nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits`, or null when absent. */
  nvidiaSmi: () => string | null;
  /** Total system memory in bytes. */
  totalMemBytes: number;
}

export type BudgetSource = 'configured' | 'nvidia-smi' | 'system-ram';
export interface Budget { mb: number; source: BudgetSource; detail: string }

/**
 * RAM kept back for the OS and the agent itself when engines run on the CPU:
 * a quarter of RAM, at least 1 GiB, at most 8 GiB.
 */
export function ramReserveMb(totalMb: number): number {
  return Math.min(8192, Math.max(1024, Math.round(totalMb / 4)));
}

/** Sums the per-GPU totals nvidia-smi prints one per line; null when nothing parses. */
export function parseNvidiaSmi(out: string): number | null {
  let sum = 0;
  let gpus = 0;
  for (const line of out.split(/\r?\n/)) {
    const t = line.trim();
    if (!t) continue;
    const n = Number(t);
    if (!Number.isFinite(n) || n <= 0) continue;
    sum += n;
    gpus++;
  }
  return gpus ? sum : null;
}

/** Decides the node's memory budget: configured, else GPU memory, else RAM minus a reserve. */
export function detectBudget(p: MemoryProbes): Budget {
  if (p.configuredMb !== undefined) return { mb: p.configuredMb, source: 'configured', detail: 'PORTEN_VRAM_BUDGET_MB' };
  let smi: string | null = null;
  try {
    smi = p.nvidiaSmi();
  } catch {
    smi = null;
  }
  const gpuMb = smi === null ? null : parseNvidiaSmi(smi);
  if (gpuMb !== null) return { mb: gpuMb, source: 'nvidia-smi', detail: `${smi!.trim().split(/\r?\n/).length} GPU(s)` };
  const totalMb = Math.floor(p.totalMemBytes / (1024 * 1024));
  const reserve = ramReserveMb(totalMb);
  return { mb: Math.max(0, totalMb - reserve), source: 'system-ram', detail: `${totalMb} MB RAM minus ${reserve} MB reserve` };
}
