import { spawnSync } from 'node:child_process';
import path from 'node:path';

/**
 * Formats a generated page as `npm run format` (Biome) would format that file, so a generated page is committed
 * formatted and formatting never makes it differ from its generator. `file` is the page's path relative to `root`
 * (Biome picks the language and the rules of biome.json by it).
 */
export function formatLikeBiome(root: string, file: string, text: string): string {
  const biome = path.join(root, 'node_modules', '.bin', 'biome');
  const r = spawnSync(biome, ['format', `--stdin-file-path=${file}`], { cwd: root, input: text, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`biome format ${file} failed (exit ${r.status}): ${r.stderr}`);
  return r.stdout;
}
