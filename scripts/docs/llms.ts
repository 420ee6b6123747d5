import { rewriteLinks } from './markdown';
import type { DocPage } from './pages';

/**
 * /llms.txt and /llms-full.txt (the llms.txt convention: an H1, a one-line summary as a blockquote, then
 * sections of links to each page's markdown with a short description). Links are root-relative: the docs are
 * served by whichever edge you deployed, so there is no fixed host to name.
 */

const DESCRIPTION_MAX = 200;

/** A page's summary cut at a word boundary, so each llms.txt line stays one line. */
export function shortSummary(summary: string): string {
  if (summary.length <= DESCRIPTION_MAX) return summary;
  const cut = summary.slice(0, DESCRIPTION_MAX);
  return `${cut.slice(0, Math.max(cut.lastIndexOf(' '), 1)).replace(/[,;:.\s]+$/, '')}…`;
}

function intro(pages: readonly DocPage[]): string {
  const index = pages.find((p) => p.slug === 'index');
  const summary = index?.summary || 'An OpenAI-compatible inference hub for a fleet of GPU machines.';
  return `# porten\n\n> ${summary}\n\nEvery porten edge serves these docs: each page as markdown at \`/docs/<page>.md\` and as HTML at \`/docs/<page>\`; \`/llms-full.txt\` holds every page in one file.\n`;
}

export function llmsTxt(pages: readonly DocPage[]): string {
  const sections: string[] = [];
  for (const p of pages) {
    const line = `- [${p.title}](/docs/${p.slug}.md)${p.summary ? `: ${shortSummary(p.summary)}` : ''}`;
    const last = sections.at(-1);
    if (last?.startsWith(`## ${p.section}\n`)) sections[sections.length - 1] = `${last}\n${line}`;
    else sections.push(`## ${p.section}\n\n${line}`);
  }
  return `${intro(pages)}\n${sections.join('\n\n')}\n`;
}

/** Relative links inside a page point at its neighbours; in one concatenated file they must name /docs/. */
export function absoluteDocLinks(href: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('/') || href.startsWith('#')) return href;
  return `/docs/${href.replace(/^\.\//, '')}`;
}

export function llmsFullTxt(pages: readonly DocPage[]): string {
  const parts = pages.map((p) => `---\nSource: /docs/${p.slug}.md\n\n${rewriteLinks(p.markdown, absoluteDocLinks).trim()}\n`);
  return `${intro(pages)}\n${parts.join('\n')}`;
}
