import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge } from '../../scripts/edge';
import { ROOT } from '../../scripts/stack';
import { docPages } from '../../scripts/docs/pages';

// The docs as the local edge serves them: real workerd over the deploy bundle, whose [build] command assembled the
// site from docs/ (so this is what `wrangler deploy` uploads).

let edge: Awaited<ReturnType<typeof startEdge>>;
const pages = docPages(ROOT);

beforeAll(async () => {
  edge = await startEdge({ root: ROOT, port: 0, persistDir: false, bindings: {} });
});
afterAll(async () => {
  await edge?.dispose();
});

const get = (p: string) => fetch(`${edge.url}${p}`, { redirect: 'manual' });

describe('docs on the local edge', () => {
  it('serves /llms.txt: an index linking every page as markdown', async () => {
    const res = await get('/llms.txt');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const txt = await res.text();
    expect(txt.startsWith('# porten\n\n> ')).toBe(true);
    const links = [...txt.matchAll(/^- \[[^\]]+\]\((\/docs\/[^)]+\.md)\)/gm)].map((m) => m[1]);
    expect(links).toEqual(pages.map((p) => `/docs/${p.slug}.md`));
  });

  it('serves each page as raw markdown, byte for byte the file in docs/', async () => {
    for (const p of pages) {
      const res = await get(`/docs/${p.slug}.md`);
      expect(res.status, p.slug).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
      expect(await res.text()).toBe(readFileSync(path.join(ROOT, 'docs', `${p.slug}.md`), 'utf8'));
    }
  });

  it('serves /llms-full.txt with every page', async () => {
    const res = await get('/llms-full.txt');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const full = await res.text();
    for (const p of pages) {
      expect(full).toContain(`Source: /docs/${p.slug}.md`);
      expect(full).toContain(`# ${p.title}\n`);
    }
  });

  it('serves readable HTML pages under the strict CSP, with only same-origin resources', async () => {
    for (const p of pages.filter((x) => x.slug !== 'index')) {
      const res = await get(`/docs/${p.slug}`);
      expect(res.status, p.slug).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      const html = await res.text();
      expect(html).toContain(`<title>${p.title.replace(/&/g, '&amp;')} · porten docs</title>`);
      expect(html).not.toMatch(/<(script|iframe)\b/);
      expect(html).not.toMatch(/(src|href)="https?:/);
    }
    const index = await get('/docs/');
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('aria-current="page"');
    const css = await get('/docs/docs.css');
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('redirects /docs/<page>.html to /docs/<page>, and answers an unknown page with a JSON 404', async () => {
    const res = await get('/docs/hardware.html');
    expect(res.status).toBe(307);
    expect(res.headers.get('location')).toBe('/docs/hardware');
    const missing = await get('/docs/no-such-page.md');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'not_found' } });
  });
});
