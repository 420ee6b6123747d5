import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { summaryOf, titleOf } from './markdown';

/**
 * The docs' reading order, in one place: the site's navigation, /llms.txt and /llms-full.txt follow it. A page in
 * docs/ that is not listed here is still published, appended in alphabetical order under "More".
 */
export const SECTIONS: ReadonlyArray<{ name: string; pages: readonly string[] }> = [
  { name: 'Start', pages: ['index', 'getting-started'] },
  { name: 'Use the API', pages: ['api', 'models', 'compatibility', 'clients', 'on-demand-loading'] },
  { name: 'Run nodes', pages: ['running-a-node', 'hardware', 'engines', 'combined-machines', 'regions-and-trust'] },
  { name: 'Operate', pages: ['deploying', 'configuration', 'dashboard', 'security', 'operations', 'benchmarks'] },
];

export interface DocPage {
  /** The file name without `.md`; the page is served at /docs/<slug>.md and /docs/<slug>. */
  slug: string;
  section: string;
  title: string;
  /** The first paragraph, as plain text. */
  summary: string;
  markdown: string;
}

/** Every `docs/*.md` page that exists, in reading order. A page without a `# Title` fails loudly. */
export function docPages(root: string): DocPage[] {
  const dir = path.join(root, 'docs');
  const present = readdirSync(dir)
    .filter((f) => f.endsWith('.md'))
    .map((f) => f.slice(0, -'.md'.length))
    .sort();
  const listed = new Set(SECTIONS.flatMap((s) => s.pages));
  const order: Array<{ slug: string; section: string }> = [
    ...SECTIONS.flatMap((s) => s.pages.filter((p) => present.includes(p)).map((slug) => ({ slug, section: s.name }))),
    ...present.filter((p) => !listed.has(p)).map((slug) => ({ slug, section: 'More' })),
  ];
  return order.map(({ slug, section }) => {
    const markdown = readFileSync(path.join(dir, `${slug}.md`), 'utf8');
    const title = titleOf(markdown);
    if (!title) throw new Error(`docs/${slug}.md has no "# Title" heading`);
    return { slug, section, title, summary: summaryOf(markdown), markdown };
  });
}
