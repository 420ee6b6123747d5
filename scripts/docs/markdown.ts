import { Marked, type Token, type Tokens } from 'marked';

/**
 * Markdown for the docs: one parser (marked, GitHub-flavoured) for the HTML pages, the heading anchors and the
 * link checker, so what the checker accepts is what the pages render. Raw HTML in a page is never passed through:
 * comments (the generated-region markers) are dropped and any other tag is shown as text.
 */

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/**
 * GitHub's heading anchors: lower-cased, punctuation removed, each space a hyphen, and a repeated heading
 * suffixed `-1`, `-2`, … in document order. Returns a slugger for one document.
 */
export function slugger(): (text: string) => string {
  const seen = new Map<string, number>();
  return (text) => {
    const base = text
      .toLowerCase()
      .trim()
      .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return n === 0 ? base : `${base}-${n}`;
  };
}

const lexer = new Marked({ gfm: true });

/** The plain text of inline tokens: formatting and link markup removed, code spans' text kept, raw HTML dropped. */
function plainText(tokens: Token[]): string {
  let out = '';
  for (const t of tokens) {
    if ('tokens' in t && Array.isArray(t.tokens) && t.type !== 'codespan') out += plainText(t.tokens);
    else if (t.type === 'html') continue;
    else if ('text' in t && typeof t.text === 'string') out += t.text;
  }
  return out;
}

export interface Heading {
  depth: number;
  text: string;
  slug: string;
}

/** Every heading of a page with the anchor GitHub (and the HTML pages) give it. */
export function headings(md: string): Heading[] {
  const slug = slugger();
  const out: Heading[] = [];
  lexer.walkTokens(lexer.lexer(md), (t) => {
    if (t.type !== 'heading') return;
    const text = plainText((t as Tokens.Heading).tokens);
    out.push({ depth: (t as Tokens.Heading).depth, text, slug: slug(text) });
  });
  return out;
}

/** Every link and image target of a page, in order (code spans and code blocks hold none). */
export function linkTargets(md: string): Array<{ href: string; image: boolean }> {
  const out: Array<{ href: string; image: boolean }> = [];
  lexer.walkTokens(lexer.lexer(md), (t) => {
    if (t.type === 'link' || t.type === 'image') out.push({ href: (t as Tokens.Link).href, image: t.type === 'image' });
  });
  return out;
}

/** The page's title: its first level-1 heading. */
export function titleOf(md: string): string | null {
  return headings(md).find((h) => h.depth === 1)?.text ?? null;
}

/** The first paragraph's plain text (a page's summary for llms.txt). */
export function summaryOf(md: string): string {
  const first = lexer.lexer(md).find((t) => t.type === 'paragraph') as Tokens.Paragraph | undefined;
  return first ? plainText(first.tokens).replace(/\s+/g, ' ').trim() : '';
}

/**
 * Renders a page to HTML. `href` maps each link target (a page's `other.md#anchor` becomes the HTML page's
 * address); every text, attribute and code block is escaped.
 */
export function renderMarkdown(md: string, href: (target: string) => string): string {
  const slug = slugger();
  const marked = new Marked({
    gfm: true,
    renderer: {
      html: ({ text }) => (/^\s*<!--[\s\S]*-->\s*$/.test(text) ? '' : escapeHtml(text)),
      heading({ tokens, depth }) {
        const id = slug(plainText(tokens));
        return `<h${depth} id="${escapeHtml(id)}"><a class="anchor" href="#${escapeHtml(id)}">#</a>${this.parser.parseInline(tokens)}</h${depth}>\n`;
      },
      link({ href: target, title, tokens }) {
        const t = title ? ` title="${escapeHtml(title)}"` : '';
        return `<a href="${escapeHtml(href(target))}"${t}>${this.parser.parseInline(tokens)}</a>`;
      },
      image({ href: target, title, text }) {
        const t = title ? ` title="${escapeHtml(title)}"` : '';
        return `<img src="${escapeHtml(href(target))}" alt="${escapeHtml(text)}"${t} loading="lazy">`;
      },
      code({ text, lang }) {
        const cls = lang ? ` class="language-${escapeHtml(lang.split(/\s/)[0])}"` : '';
        return `<pre><code${cls}>${escapeHtml(text)}</code></pre>\n`;
      },
    },
  });
  return marked.parse(md, { async: false });
}

/**
 * The markdown with each link and image target replaced by `map(target)`; everything else byte for byte
 * (code spans and blocks are untouched: they hold no links).
 */
export function rewriteLinks(md: string, map: (target: string) => string): string {
  const raws = new Map<string, string>();
  lexer.walkTokens(lexer.lexer(md), (t) => {
    if (t.type !== 'link' && t.type !== 'image') return;
    const { raw, href } = t as Tokens.Link;
    const next = map(href);
    // Only inline `[text](target)` links carry the target in their raw text; autolinks and references are left as written.
    if (next !== href && raw.endsWith(')') && raw.includes(`](${href}`)) raws.set(raw, raw.replace(`](${href}`, `](${next}`));
  });
  let out = md;
  for (const [from, to] of raws) out = out.replaceAll(from, to);
  return out;
}
