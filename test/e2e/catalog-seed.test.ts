import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startEdge } from '../../scripts/edge';
import { ROOT } from '../../scripts/stack';

// The catalog across real edge restarts (workerd stopped and started again on the same Durable Object state on
// disk), and a production-like edge: no demo origin configured, as `wrangler deploy` ships wrangler.toml.

const ADMIN = 'adm-catalog-seed-0123456789abcdef0123456789';
const API = 'sk-catalog-seed-0123456789abcdef0123456789';
const ORIGIN = 'http://127.0.0.1:9';
const state = mkdtempSync(path.join(os.tmpdir(), 'porten-seed-'));
afterAll(() => rmSync(state, { recursive: true, force: true }));

type Edge = Awaited<ReturnType<typeof startEdge>>;
const boot = (vars: Record<string, string>) =>
  startEdge({ root: ROOT, port: 0, persistDir: state, bindings: { PORTEN_ADMIN_TOKEN: ADMIN, PORTEN_API_KEY: API, ...vars } });

async function call(edge: Edge, method: string, p: string, body?: unknown, token = ADMIN): Promise<{ status: number; json: any }> {
  const res = await fetch(`${edge.url}${p}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

const catalog = async (edge: Edge) => (await call(edge, 'GET', '/admin/v1/models')).json.data as Array<Record<string, any>>;
const entry = async (edge: Edge, id: string) => (await catalog(edge)).find((m) => m.id === id);

// The two tests share one state directory and run in order: the second starts where the first left the catalog.
describe('catalog seeding across edge restarts', () => {
  it("keeps an operator's edit of a seeded entry, and its enabled choice, when the edge restarts", async () => {
    let edge = await boot({ PORTEN_DEMO_ORIGIN: ORIGIN });
    try {
      const seeded = await entry(edge, 'demo-small');
      expect(seeded).toMatchObject({ context_length: 512, edited_at: null });
      const edit = {
        id: 'demo-small',
        enabled: true,
        description: 'edited by the operator',
        context_length: 256,
        capabilities: ['chat'],
        vram_mb: 6,
        engine: 'builtin',
        weights: { url: 'demo://demo-small.gguf' },
      };
      expect((await call(edge, 'POST', '/admin/v1/models', edit)).status).toBe(201);
      expect((await call(edge, 'PATCH', '/admin/v1/models/demo-plain', { enabled: false })).status).toBe(200);
    } finally {
      await edge.dispose();
    }

    edge = await boot({ PORTEN_DEMO_ORIGIN: ORIGIN });
    try {
      const small = await entry(edge, 'demo-small');
      expect(small).toMatchObject({ context_length: 256, vram_mb: 6, capabilities: ['chat'], edited_at: expect.any(Number) });
      expect(await entry(edge, 'demo-plain')).toMatchObject({ enabled: false, edited_at: null });
      expect(await entry(edge, 'demo-large')).toMatchObject({ context_length: 512, edited_at: null });
      const listed = (await call(edge, 'GET', '/v1/models', undefined, API)).json.data.map((m: { id: string }) => m.id);
      expect(listed).toContain('demo-small');
      expect(listed).not.toContain('demo-plain');
    } finally {
      await edge.dispose();
    }
  });

  it('offers no demo model once the edge runs without a demo origin; an entry the operator wrote stays', async () => {
    const edge = await boot({});
    try {
      const ids = (await catalog(edge)).map((m) => m.id).sort();
      expect(ids).toEqual(['demo-small', 'qwen2.5-coder-32b']);
      const res = await fetch(`${edge.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'demo-large', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBe(404);
      // Not in the catalog, so refused before any wait (the old production edge let this wait out its 300 s budget).
      expect(await res.json()).toMatchObject({ error: { code: 'model_not_found' } });
    } finally {
      await edge.dispose();
    }
  });
});

describe('a fresh production-like edge', () => {
  it('lists no demo models and seeds the real entries disabled', async () => {
    const fresh = mkdtempSync(path.join(os.tmpdir(), 'porten-seed-fresh-'));
    const edge = await startEdge({ root: ROOT, port: 0, persistDir: fresh, bindings: { PORTEN_ADMIN_TOKEN: ADMIN, PORTEN_API_KEY: API } });
    try {
      expect((await catalog(edge)).map((m) => [m.id, m.enabled])).toEqual([['qwen2.5-coder-32b', false]]);
      expect((await call(edge, 'GET', '/v1/models', undefined, API)).json).toEqual({ object: 'list', data: [] });
    } finally {
      await edge.dispose();
      rmSync(fresh, { recursive: true, force: true });
    }
  });
});
