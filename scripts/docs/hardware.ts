import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decideHardware } from '../../nodes/agent/memory';
import { ggufFootprint } from '../footprint';
import { parameterCount, QUANTS, type Quant, writeHeaderOnlyGguf } from './hardware-gguf';
import { ARCHITECTURES, type Architecture, CONTEXTS, DEVICES } from './hardware-models';

/**
 * The generated tables of docs/hardware.md. Every memory figure is `ggufFootprint` (scripts/footprint.ts, the
 * planner's formula in src/planner/footprint.ts) run on a header-only GGUF built from published architecture
 * numbers; every device budget is the node agent's own `decideHardware` on an idle device. Nothing here is a typed-in number.
 */

const MIB = 1024 * 1024;
const ENGINE_OVERHEAD_MB = 512;

export interface Estimate {
  arch: Architecture;
  quant: Quant;
  fileBytes: number;
  weightsMb: number;
  /** The estimator's total (weights + KV cache + engine overhead), MiB, by context length. */
  totalMb: Map<number, number>;
}

const contextsOf = (a: Architecture) => CONTEXTS.filter((c) => c <= (a.scaledContextLength ?? a.contextLength));

/** Runs the estimator over every architecture × quantization × context. */
export async function estimates(): Promise<Estimate[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'porten-hardware-'));
  try {
    const out: Estimate[] = [];
    for (const arch of ARCHITECTURES) {
      for (const quant of QUANTS) {
        const file = path.join(dir, `${arch.size}-${quant}.gguf`);
        const fileBytes = await writeHeaderOnlyGguf(file, arch, quant);
        const totalMb = new Map<number, number>();
        let weightsMb = 0;
        for (const ctx of contextsOf(arch)) {
          const f = await ggufFootprint(file, ctx, ENGINE_OVERHEAD_MB);
          totalMb.set(ctx, f.vramMb);
          weightsMb = f.meta.weightsBytes / MIB;
        }
        rmSync(file);
        out.push({ arch, quant, fileBytes, weightsMb, totalMb });
      }
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What the node agent would offer the planner on each device, idle (`decideHardware`: a GPU's memory as its backend
 * reports it minus the GPU reserve, or RAM minus the RAM reserve).
 */
export function deviceBudgets(): Array<{ label: string; gb: number; budgetMb: number; detail: string }> {
  return DEVICES.map((d) => {
    const bytes = d.gb * 1024 * MIB;
    const machine = { nvidia: null, rocm: null, logicalCpus: 8 };
    const h =
      d.kind === 'gpu'
        ? decideHardware({
            ...machine,
            llama: { gpu: 'cuda', vram: { total: bytes, used: 0, free: bytes, unifiedSize: 0 }, devices: ['GPU'] },
            totalMemBytes: 0,
            freeMemBytes: 0,
          })
        : decideHardware({ ...machine, llama: null, totalMemBytes: bytes, freeMemBytes: bytes });
    return { label: d.label, gb: d.gb, budgetMb: h.budget.mb, detail: h.budget.detail };
  });
}

const gib = (mb: number) => (mb / 1024).toFixed(1);
const ctxLabel = (c: number) => `${c / 1024}k`;
const isScaled = (a: Architecture, c: number) => c > a.contextLength;

export function sizesTable(rows: readonly Estimate[]): string {
  const head = `| model | params | quant | file (GB) | weights (GiB) | ${CONTEXTS.map((c) => `total at ${ctxLabel(c)} (GiB)`).join(' | ')} |`;
  const sep = `| --- | ---: | --- | ---: | ---: | ${CONTEXTS.map(() => '---:').join(' | ')} |`;
  const lines = rows.map((r) => {
    const cells = CONTEXTS.map((c) => {
      const mb = r.totalMb.get(c);
      return mb === undefined ? '—' : `${gib(mb)}${isScaled(r.arch, c) ? '¹' : ''}`;
    });
    const params = `${(parameterCount(r.arch) / 1e9).toFixed(2)}B`;
    return `| ${r.arch.name} | ${params} | ${r.quant} | ${(r.fileBytes / 1e9).toFixed(2)} | ${gib(r.weightsMb)} | ${cells.join(' | ')} |`;
  });
  return [head, sep, ...lines].join('\n');
}

/** For each model × quantization and device: the longest context (of 8k, 32k, 128k) whose estimate fits the budget. */
export function fitTable(rows: readonly Estimate[]): string {
  const devices = deviceBudgets();
  const head = `| model | quant | ${devices.map((d) => d.label).join(' | ')} |`;
  const sep = `| --- | --- | ${devices.map(() => ':---:').join(' | ')} |`;
  const lines = rows.map((r) => {
    const cells = devices.map((d) => {
      const fits = [...r.totalMb].filter(([, mb]) => mb <= d.budgetMb).map(([c]) => c);
      return fits.length ? ctxLabel(Math.max(...fits)) : '—';
    });
    return `| ${r.arch.name} | ${r.quant} | ${cells.join(' | ')} |`;
  });
  return [head, sep, ...lines].join('\n');
}

export function budgetsTable(): string {
  const rows = deviceBudgets().map((d) => `| ${d.label} | ${d.budgetMb.toLocaleString('en-US')} | ${d.detail} |`);
  return ['| device | budget the agent reports (MiB) | how |', '| --- | ---: | --- |', ...rows].join('\n');
}

export function sourcesList(): string {
  return ARCHITECTURES.map(
    (a) =>
      `- **${a.name}** (\`${a.arch}\`): \`${a.source}\`, config.json — ${a.nLayer} layers, hidden ${a.nEmbd}, FFN ${a.nFf}, ` +
      `${a.nHead} heads, ${a.nHeadKv} KV heads, vocabulary ${a.nVocab}, context ${a.contextLength}` +
      (a.scaledContextLength ? ` (${a.scaledContextLength} with YaRN rope scaling, per the model card)` : '') +
      '.',
  ).join('\n');
}

interface CatalogRow {
  id: string;
  context_length: number;
  vram_mb: number;
  weights: { url: string };
}

/** The catalog's real (non-demo) entries at their own context length and quantization, beside their `vram_mb`. */
export function catalogTable(root: string, rows: readonly Estimate[]): string {
  const catalog = JSON.parse(readFileSync(path.join(root, 'catalog', 'models.json'), 'utf8')) as CatalogRow[];
  const real = catalog.filter((e) => !e.weights.url.startsWith('demo://'));
  const lines: string[] = [];
  const missing: string[] = [];
  for (const e of real) {
    const quant = QUANTS.find((q) => e.weights.url.toLowerCase().includes(q.toLowerCase()));
    const est = rows.find((r) => r.arch.catalogIds.includes(e.id) && r.quant === quant);
    const mb = est?.totalMb.get(e.context_length);
    if (!est || mb === undefined) {
      missing.push(`\`${e.id}\``);
      continue;
    }
    lines.push(`| \`${e.id}\` | ${est.arch.name} | ${quant} | ${e.context_length} | ${mb.toLocaleString('en-US')} | ${e.vram_mb.toLocaleString('en-US')} |`);
  }
  const table = ['| catalog id | architecture | quant | context | estimate (MiB) | catalog `vram_mb` |', '| --- | --- | --- | ---: | ---: | ---: |', ...lines];
  if (missing.length) table.push('', `Not covered yet (no architecture numbers in \`scripts/docs/hardware-models.ts\`): ${missing.join(', ')}.`);
  return table.join('\n');
}
