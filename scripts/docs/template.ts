import { escapeHtml } from './markdown';
import type { DocPage } from './pages';

/**
 * The HTML shell of a docs page: navigation in reading order, the rendered page, and a link to its markdown.
 * Only same-origin resources (the edge's CSP allows nothing else): one stylesheet, the site's icon.
 */
export function pageHtml(page: DocPage, pages: readonly DocPage[], body: string): string {
  const nav: string[] = [];
  let section = '';
  for (const p of pages) {
    if (p.section !== section) {
      if (section) nav.push('</ul>');
      section = p.section;
      nav.push(`<h2>${escapeHtml(section)}</h2><ul>`);
    }
    const href = p.slug === 'index' ? './' : p.slug;
    const current = p.slug === page.slug ? ' aria-current="page"' : '';
    nav.push(`<li><a href="${escapeHtml(href)}"${current}>${escapeHtml(p.title)}</a></li>`);
  }
  if (section) nav.push('</ul>');
  const md = `${page.slug}.md`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)} · porten docs</title>
<meta name="description" content="${escapeHtml(page.summary)}">
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/docs/docs.css">
<link rel="alternate" type="text/markdown" href="${escapeHtml(md)}">
</head>
<body>
<header class="top"><a href="/">porten</a> <span>docs</span></header>
<div class="layout">
<nav aria-label="Docs">
${nav.join('\n')}
<p class="raw"><a href="/llms.txt">llms.txt</a> · <a href="/llms-full.txt">llms-full.txt</a></p>
</nav>
<main>
${body}
<p class="source">This page as markdown: <a href="${escapeHtml(md)}">${escapeHtml(md)}</a></p>
</main>
</div>
</body>
</html>
`;
}
