// npm run docs: rewrites the generated parts of the docs (docs/api.md whole, the tables of docs/hardware.md, the
// map of the docs in docs/index.md and README.md).
// `npm run docs -- --check` changes nothing and exits 1 when a committed page differs (the tests do the same).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { apiPage } from './api';
import { formatLikeBiome } from './format';
import { budgetsTable, catalogTable, estimates, fitTable, sizesTable, sourcesList } from './hardware';
import { docPages, SECTIONS } from './pages';
import { replaceRegion } from './regions';

/** The map of the docs (index page, README): each page by section, with its summary; `base` prefixes the links. */
export function docsMap(root: string, base: string): string {
  const pages = docPages(root);
  const sections = [...SECTIONS.map((s) => s.name), 'More'];
  return sections
    .map((name) => {
      const inSection = pages.filter((p) => p.section === name && p.slug !== 'index');
      if (!inSection.length) return '';
      return `**${name}**\n\n${inSection.map((p) => `- [${p.title}](${base}${p.slug}.md): ${firstSentence(p.summary)}`).join('\n')}`;
    })
    .filter(Boolean)
    .join('\n\n');
}

/** A summary's first sentence, so a map line stays one line. */
function firstSentence(s: string): string {
  const m = /^(.+?[.!?])(\s|$)/.exec(s);
  return m ? m[1] : s;
}

/** Each generated page's expected content (formatted as `npm run format` leaves it), by path relative to the repository root. */
export async function generatedPages(root: string): Promise<Map<string, string>> {
  const pages = new Map<string, string>();
  pages.set('docs/api.md', apiPage());
  const index = readFileSync(path.join(root, 'docs', 'index.md'), 'utf8');
  pages.set('docs/index.md', replaceRegion(index, 'docs-map', docsMap(root, '')));
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  pages.set('README.md', replaceRegion(readme, 'docs-map', docsMap(root, 'docs/')));
  const rows = await estimates();
  let hw = readFileSync(path.join(root, 'docs', 'hardware.md'), 'utf8');
  hw = replaceRegion(hw, 'hardware-catalog', catalogTable(root, rows));
  hw = replaceRegion(hw, 'hardware-sizes', sizesTable(rows));
  hw = replaceRegion(hw, 'hardware-sources', sourcesList());
  hw = replaceRegion(hw, 'hardware-budgets', budgetsTable());
  hw = replaceRegion(hw, 'hardware-fit', fitTable(rows));
  pages.set('docs/hardware.md', hw);
  for (const [rel, text] of pages) pages.set(rel, formatLikeBiome(root, rel, text));
  return pages;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [rel, content] of await generatedPages(root)) {
    const file = path.join(root, rel);
    let current = '';
    try {
      current = readFileSync(file, 'utf8');
    } catch {}
    if (current === content) continue;
    stale++;
    if (check) console.error(`${rel} is stale: run npm run docs`);
    else {
      writeFileSync(file, content);
      console.log(`wrote ${rel}`);
    }
  }
  if (check && stale) process.exitCode = 1;
}
