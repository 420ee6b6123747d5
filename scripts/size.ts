// npm run size: the Worker bundle exactly as `wrangler deploy` would upload it (a dry run), against its budget.
// Prints one line and exits 1 above the budget. The docs and web/ are static assets and do not count.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { bundleWorker } from './edge';

/**
 * The Worker script's budget, raw (before gzip), as uploaded: minified (`minify = true` in wrangler.toml).
 * Cloudflare's limits are far higher (3 MB compressed on the free plan); this one keeps isolate startup cheap and
 * catches an import that drags a whole library in (zod's locales alone were 970 KiB unminified).
 */
export const BUNDLE_BUDGET_KIB = 350;

/** Sizes of the uploaded modules in a `--outdir` (source maps and wrangler's README are not part of the script). */
export function bundleSize(outDir: string): { bytes: number; gzipBytes: number; modules: string[] } {
  const modules = readdirSync(outDir).filter((f) => !f.endsWith('.map') && f !== 'README.md');
  let bytes = 0;
  let gzipBytes = 0;
  for (const m of modules) {
    const content = readFileSync(path.join(outDir, m));
    bytes += content.length;
    gzipBytes += gzipSync(content, { level: 9 }).length;
  }
  return { bytes, gzipBytes, modules };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const out = mkdtempSync(path.join(tmpdir(), 'porten-size-'));
  try {
    await bundleWorker(root, out);
    const { bytes, gzipBytes, modules } = bundleSize(out);
    const kib = bytes / 1024;
    const verdict = kib <= BUNDLE_BUDGET_KIB ? 'within' : 'OVER';
    console.log(
      `worker bundle: ${kib.toFixed(1)} KiB (gzip ${(gzipBytes / 1024).toFixed(1)} KiB) in ${modules.join(', ')}; budget ${BUNDLE_BUDGET_KIB} KiB: ${verdict}`,
    );
    if (kib > BUNDLE_BUDGET_KIB) process.exitCode = 1;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
