import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { llmsFullTxt, llmsTxt } from './llms';
import { renderMarkdown } from './markdown';
import { type DocPage, docPages } from './pages';
import { pageHtml } from './template';

/** Where the site is assembled (gitignored); wrangler.toml's [assets] directory. */
export const SITE_DIR = 'dist/site';

/**
 * Header rules added to web/_headers: the raw pages and the llms files are UTF-8 text (the pages hold
 * "—", "≥", "→"), and the docs' HTML inherits the site-wide strict CSP from web/_headers' `/*` rule.
 */
const DOCS_HEADERS = `
# Added by scripts/docs/site.ts: the docs as text, in UTF-8.
/docs/*.md
  Content-Type: text/markdown; charset=utf-8
/llms.txt
  Content-Type: text/plain; charset=utf-8
/llms-full.txt
  Content-Type: text/plain; charset=utf-8
`;

/**
 * Maps a page's link target to the HTML site: `other.md#a` → `other#a` (the HTML page; `index.md` is the
 * docs' root), anything else (images, anchors) as written. The link checker keeps docs links inside docs/.
 */
export function htmlHref(target: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#') || target.startsWith('/')) return target;
  const m = /^(?:\.\/)?([^#?]*?)\.md(#.*)?$/.exec(target);
  if (!m) return target;
  return `${m[1] === 'index' ? './' : m[1]}${m[2] ?? ''}`;
}

/** Files under `dir`, from the directory entries alone: no stat, so a concurrent build's temporary file vanishing between listing and looking is harmless. */
function listFiles(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? listFiles(full, base) : [path.relative(base, full)];
  });
}

/** Every file of the site, by path relative to the site root. Pure apart from reading web/ and docs/. */
export function siteFiles(root: string, pages: readonly DocPage[] = docPages(root)): Map<string, Buffer | string> {
  const files = new Map<string, Buffer | string>();
  const web = path.join(root, 'web');
  for (const rel of listFiles(web)) files.set(rel, readFileSync(path.join(web, rel)));
  files.set('_headers', `${files.get('_headers')?.toString() ?? ''}${DOCS_HEADERS}`);

  const images = path.join(root, 'docs', 'images');
  for (const rel of listFiles(images)) files.set(path.join('docs', 'images', rel), readFileSync(path.join(images, rel)));
  files.set('docs/docs.css', readFileSync(path.join(root, 'scripts', 'docs', 'docs.css')));
  for (const page of pages) {
    files.set(`docs/${page.slug}.md`, page.markdown);
    files.set(`docs/${page.slug}.html`, pageHtml(page, pages, renderMarkdown(page.markdown, htmlHref)));
  }
  files.set('llms.txt', llmsTxt(pages));
  files.set('llms-full.txt', llmsFullTxt(pages));
  return files;
}

/**
 * Writes the site into `root/dist/site`. Safe to run while another build or a running edge reads the folder
 * (e2e suites start several edges at once, each bundling): a file is replaced only when its bytes change, by an
 * atomic rename, and files no build produces any more are removed.
 */
export function buildSite(root: string): { dir: string; files: number; pages: number } {
  const dir = path.join(root, SITE_DIR);
  const pages = docPages(root);
  const files = siteFiles(root, pages);
  for (const [rel, content] of files) {
    const dest = path.join(dir, rel);
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    if (existsSync(dest) && readFileSync(dest).equals(bytes)) continue;
    mkdirSync(path.dirname(dest), { recursive: true });
    const tmp = `${dest}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, dest);
  }
  for (const rel of listFiles(dir)) {
    if (!files.has(rel) && !rel.endsWith('.tmp')) rmSync(path.join(dir, rel), { force: true });
  }
  return { dir, files: files.size, pages: pages.length };
}
