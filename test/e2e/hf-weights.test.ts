import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLlamaSpec } from '../../scripts/gguf/llama-model';
import { writeSplitGguf } from '../../scripts/gguf/split';
import { startHfStack, type HfStack } from '../../scripts/hf-origin';
import { DEMO_MODELS, ensureDemoModels } from '../../scripts/make-demo-models';
import { ROOT } from '../../scripts/stack';
import { makeTestCa, type TestCa } from '../../scripts/test-ca';
import { bootStack, waitFor, waitForNode } from './support';

/*
 * hf:// weights end to end: edge (workerd) → agent process → the Hugging Face STAND-IN on
 * https://localhost (302 with x-linked-etag to a signed CDN URL on https://127.0.0.1, gated repos
 * answer 401), trusted by the agent through NODE_EXTRA_CA_CERTS and found through
 * PORTEN_HF_ENDPOINT. The catalog pins no sha256 for these entries: the node verifies against the
 * origin's x-linked-etag, refuses a file nothing vouches for unless the entry allows it, and serves
 * a split GGUF as one model.
 */
type Stack = Awaited<ReturnType<typeof bootStack>>;

describe('hf:// weights through edge and agent', () => {
  let ca: TestCa;
  let hfDir: string;
  let hf: HfStack;
  let stack: Stack;
  const nodeDir = () => path.join(stack.workDir, 'hf-node');

  const entry = (id: string, url: string, extra: Record<string, unknown> = {}) => ({
    id,
    enabled: true,
    description: 'hf:// e2e',
    context_length: 512,
    capabilities: ['chat'],
    vram_mb: 8,
    engine: 'builtin',
    weights: { url, ...extra },
  });
  const admin = (p: string, init: RequestInit = {}) =>
    fetch(`${stack.url}/admin/v1${p}`, { ...init, headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' } });
  const warming = async (model: string) => (await (await fetch(`${stack.url}/public/v1/models/warming?model=${model}`)).json()) as Record<string, unknown>;
  const chat = (model: string) => stack.openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4, temperature: 0 });

  beforeAll(async () => {
    ca = makeTestCa();
    hfDir = mkdtempSync(path.join(os.tmpdir(), 'porten-hf-e2e-'));
    const demo = await ensureDemoModels(path.join(ROOT, '.porten', 'demo-models'));
    const file = (id: string) => demo.find((d) => d.id === id)!.path;
    const put = (repoPath: string, from: string) => {
      mkdirSync(path.dirname(path.join(hfDir, repoPath)), { recursive: true });
      copyFileSync(from, path.join(hfDir, repoPath));
    };
    put('org/chat/demo-small.gguf', file('demo-small'));
    put('meta/gated/demo-plain.gguf', file('demo-plain'));
    put('org/plain/demo-plain.gguf', file('demo-plain'));
    mkdirSync(path.join(hfDir, 'org', 'split'), { recursive: true });
    await writeSplitGguf(path.join(hfDir, 'org', 'split'), 'demo-split', buildLlamaSpec(DEMO_MODELS[0]), 3);
    hf = await startHfStack(
      hfDir,
      { key: ca.key, cert: ca.cert },
      { gated: ['meta/gated'], tokens: ['hf_e2etokenaaaaaaaaaaaaaaaaaaaaaaaaaa'], noLinkedEtag: ['org/plain/demo-plain.gguf'] },
    );
    stack = await bootStack({
      agents: [{ nodeId: 'hf-node', budgetMb: 4096, env: { NODE_EXTRA_CA_CERTS: ca.caFile, PORTEN_HF_ENDPOINT: hf.hf.url, HF_TOKEN: '' } }],
    });
    await waitForNode(stack, 'hf-node');
    for (const e of [
      entry('hf-chat', 'hf://org/chat/demo-small.gguf'),
      entry('hf-split', 'hf://org/split/demo-split-00001-of-00003.gguf'),
      entry('hf-gated', 'hf://meta/gated/demo-plain.gguf'),
      entry('hf-unpinned', 'hf://org/plain/demo-plain.gguf'),
      entry('hf-allowed', 'hf://org/plain/demo-plain.gguf', { allow_unverified: true }),
    ]) {
      const res = await admin('/models', { method: 'POST', body: JSON.stringify(e) });
      expect(res.status).toBe(201);
    }
  });
  afterAll(async () => {
    await stack?.stop();
    await hf?.close();
    rmSync(hfDir, { recursive: true, force: true });
    ca?.cleanup();
  });

  it('loads a model verified against x-linked-etag, through the redirect to the CDN', async () => {
    const r = await chat('hf-chat');
    expect(r.choices[0].message.role).toBe('assistant');
    expect(await warming('hf-chat')).toMatchObject({ ready: true, phase: 'ready' });
    expect(hf.cdn.stats().bytes).toBeGreaterThan(0);
    expect(hf.cdn.stats().authorized).toBe(0);
  });

  it('serves a split GGUF as one model: every part downloaded, the first loaded', async () => {
    const r = await chat('hf-split');
    expect(r.choices[0].message.role).toBe('assistant');
    expect(readdirSync(nodeDir()).filter((f) => f.startsWith('hf-split-') && f.endsWith('.gguf'))).toEqual([
      'hf-split-00001-of-00003.gguf',
      'hf-split-00002-of-00003.gguf',
      'hf-split-00003-of-00003.gguf',
    ]);
    // `porten models` (the real CLI) lists it once, verified.
    const out = JSON.parse(
      execFileSync(process.execPath, [path.join(ROOT, 'nodes/bin/porten.js'), 'models', '--json', '--models-dir', nodeDir()], { encoding: 'utf8' }),
    );
    expect(out.models.find((m: { model: string }) => m.model === 'hf-split')).toMatchObject({
      verification: 'sha256',
      files: expect.arrayContaining(['hf-split-00003-of-00003.gguf']),
    });
  });

  it('a gated model without HF_TOKEN fails with a reason that says what to do; nothing is loaded', async () => {
    const err = await chat('hf-gated').then(
      () => null,
      (e) => e,
    );
    expect(err?.status).toBe(502);
    expect(String(err?.message)).toMatch(/gated or private; accept its terms .*set HF_TOKEN/);
    const w = await waitFor('the failure on the warming view', async () => {
      const v = await warming('hf-gated');
      return v.phase === 'failed' ? v : null;
    });
    expect(String(w.error)).toMatch(/Hugging Face answered HTTP 401 for meta\/gated\/demo-plain\.gguf@main/);
    expect(readdirSync(nodeDir()).some((f) => f.startsWith('hf-gated'))).toBe(false);
  });

  it('refuses weights no sha256 vouches for, unless the catalog entry allows them', async () => {
    const err = await chat('hf-unpinned').then(
      () => null,
      (e) => e,
    );
    expect(err?.status).toBe(502);
    expect(String(err?.message)).toMatch(/no sha256 for org\/plain\/demo-plain\.gguf@main.*allow_unverified/);
    const r = await chat('hf-allowed');
    expect(r.choices[0].message.role).toBe('assistant');
  });

  it('the node reports its hardware, and `porten status` shows the running agent', async () => {
    const res = await admin('/nodes');
    const node = ((await res.json()) as { data: Array<{ id: string; hardware: Record<string, unknown> | null }> }).data.find((n) => n.id === 'hf-node');
    expect(node?.hardware).toMatchObject({ backend: 'cpu', gpus: [], budget_source: 'configured' });
    const status = JSON.parse(
      execFileSync(process.execPath, [path.join(ROOT, 'nodes/bin/porten.js'), 'status', '--json', '--status-file', path.join(nodeDir(), 'status.json')], {
        encoding: 'utf8',
      }),
    );
    expect(status).toMatchObject({ running: true, node_id: 'hf-node', link: { state: 'connected' }, budget: { mb: 4096, source: 'configured' } });
    expect(status.models.map((m: { model: string }) => m.model)).toEqual(expect.arrayContaining(['hf-chat', 'hf-split']));
    expect(JSON.stringify(status)).not.toMatch(/X-Amz|Signature|node-[0-9a-f]{20}/);
  });
});
