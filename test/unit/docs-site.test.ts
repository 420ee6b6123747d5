import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { llmsFullTxt, llmsTxt } from '../../scripts/docs/llms';
import { headings, renderMarkdown } from '../../scripts/docs/markdown';
import { docPages } from '../../scripts/docs/pages';
import { htmlHref, SITE_DIR, siteFiles } from '../../scripts/docs/site';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

/** A scratch repository root with web/, the docs stylesheet and the given docs pages. */
function scratchRoot(pages: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'porten-docs-'));
  temps.push(root);
  cpSync(path.join(repo, 'web'), path.join(root, 'web'), { recursive: true });
  mkdirSync(path.join(root, 'scripts', 'docs'), { recursive: true });
  cpSync(path.join(repo, 'scripts', 'docs', 'docs.css'), path.join(root, 'scripts', 'docs', 'docs.css'));
  mkdirSync(path.join(root, 'docs'));
  for (const [name, md] of Object.entries(pages)) writeFileSync(path.join(root, 'docs', name), md);
  return root;
}

describe('markdown rendering', () => {
  it('escapes raw HTML and drops comments (the generated-region markers)', () => {
    const html = renderMarkdown('# T\n\n<script>alert(1)</script>\n\n<!-- generated:x (npm run docs) -->\n\nhi <b onclick="x">b</b> `<i>`', htmlHref);
    expect(html).not.toMatch(/<script|<b |<i>|generated:x/);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('<code>&lt;i&gt;</code>');
  });

  it("gives headings GitHub's anchors, repeated ones numbered", () => {
    expect(headings('# Deploy to Cloudflare\n## 1. Log in — `wrangler login`\n## Notes\n## Notes').map((h) => h.slug)).toEqual([
      'deploy-to-cloudflare',
      '1-log-in--wrangler-login',
      'notes',
      'notes-1',
    ]);
    expect(renderMarkdown('## Notes\n## Notes', htmlHref)).toContain('<h2 id="notes-1">');
  });

  it('points page links at the HTML pages and leaves other targets as written', () => {
    expect(htmlHref('hardware.md#what-fits-where')).toBe('hardware#what-fits-where');
    expect(htmlHref('./api.md')).toBe('api');
    expect(htmlHref('index.md')).toBe('./');
    expect(htmlHref('images/playground.png')).toBe('images/playground.png');
    expect(htmlHref('#top')).toBe('#top');
    expect(renderMarkdown('[x](api.md "t<")', htmlHref)).toContain('<a href="api" title="t&lt;">x</a>');
  });
});

describe('the docs site', () => {
  const root = scratchRoot({
    'index.md': '# porten\n\nThe hub. See [the API](api.md).\n',
    'zeta.md': '# Zeta\n\nAn unlisted page.\n',
    'hardware.md': '# Hardware guide\n\nMemory per model, [API](api.md#errors).\n',
    'api.md': '# API reference\n\nEvery endpoint.\n\n## Errors\n',
  });

  it('orders pages by the reading order and appends unlisted ones', () => {
    expect(docPages(root).map((p) => [p.slug, p.section])).toEqual([
      ['index', 'Start'],
      ['api', 'Use the API'],
      ['hardware', 'Run nodes'],
      ['zeta', 'More'],
    ]);
  });

  it('writes /llms.txt: title, summary, sections of links to every page as markdown', () => {
    const txt = llmsTxt(docPages(root));
    expect(txt.startsWith('# porten\n\n> The hub. See the API.\n')).toBe(true);
    expect(txt).toContain('## Use the API\n\n- [API reference](/docs/api.md): Every endpoint.');
    expect(txt).toContain('## More\n\n- [Zeta](/docs/zeta.md): An unlisted page.');
    expect(txt.match(/^- \[/gm)).toHaveLength(4);
  });

  it('writes /llms-full.txt with every page, its relative links made absolute', () => {
    const full = llmsFullTxt(docPages(root));
    for (const p of docPages(root)) expect(full).toContain(`Source: /docs/${p.slug}.md`);
    expect(full).toContain('[API](/docs/api.md#errors)');
    expect(full).not.toContain('](api.md');
  });

  it('assembles web/, each page as markdown and HTML, the llms files and the header rules', () => {
    const files = siteFiles(root);
    for (const f of ['playground.html', 'dashboard.html', 'docs/index.md', 'docs/index.html', 'docs/zeta.html', 'docs/docs.css', 'llms.txt', 'llms-full.txt']) {
      expect(files.has(f), f).toBe(true);
    }
    const headers = String(files.get('_headers'));
    expect(headers).toContain(readFileSync(path.join(repo, 'web', '_headers'), 'utf8'));
    expect(headers).toContain('/docs/*.md\n  Content-Type: text/markdown; charset=utf-8');
    const html = String(files.get('docs/hardware.html'));
    expect(html).toContain('<a href="api#errors">API</a>');
    expect(html).toContain('<link rel="stylesheet" href="/docs/docs.css">');
    expect(html).not.toMatch(/https?:\/\//);
  });

  it('builds the same site when several builds run at once, leaving no temporary file', async () => {
    const runs = Array.from({ length: 4 }, () =>
      spawn(process.execPath, ['--import', 'tsx', '-e', `import('${repo}/scripts/docs/site.ts').then((m) => m.buildSite(${JSON.stringify(root)}))`], {
        cwd: repo,
        stdio: ['ignore', 'ignore', 'inherit'],
      }),
    );
    const codes = await Promise.all(runs.map((c) => new Promise<number | null>((resolve) => c.once('exit', resolve))));
    expect(codes).toEqual([0, 0, 0, 0]);
    const dir = path.join(root, SITE_DIR);
    const written = readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
      .sort();
    const expected = siteFiles(root);
    expect(written).toEqual([...expected.keys()].sort());
    for (const [rel, content] of expected) expect(readFileSync(path.join(dir, rel)).equals(Buffer.from(content)), rel).toBe(true);
  });
});
