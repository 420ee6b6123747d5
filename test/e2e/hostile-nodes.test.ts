import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelFileName } from '../../nodes/engines/args';
import { NODE_BUDGET_CEILING_MB, NODE_CONCURRENCY_CEILING } from '../../src/security/claims';
import { bootStack, helloFrame, nodes, rawNodeSocket, waitFor, waitForNode, type Stack } from './support';

/**
 * Hand-written hostile agents (raw WebSockets on the fleet key) against the
 * real edge on workerd, beside an honest agent process with the builtin
 * engine. Each attack is refused and the honest node keeps serving.
 */
type Boot = Awaited<ReturnType<typeof bootStack>>;
let stack: Boot;

const LEAK = ['hunter2', 'X-Amz-Signature', 'deadbeef', '10.9.8.7', '/home/ada', 'stderr', 'CUDA'] as const;
const LEAKY_MESSAGE =
  'origin answered HTTP 403 for https://ada:hunter2@10.9.8.7:9000/w.gguf?X-Amz-Signature=deadbeef, saved to /home/ada/.porten/models/w.gguf\nengine stderr: CUDA error at /opt/src/ggml.cu:77';

beforeAll(async () => {
  // The honest node is too small for demo-large (100 MB), so only a hostile node with room can be ordered to load it.
  stack = await bootStack({ agents: [{ nodeId: 'honest', budgetMb: 64 }] });
  await waitForNode(stack, 'honest');
  // demo-small is warm on the honest node before any hostile node shows up.
  await stack.openai.chat.completions.create({ model: 'demo-small', messages: [{ role: 'user', content: 'warm up' }], max_tokens: 2 });
});
afterAll(async () => stack?.stop());

async function admin(method: string, p: string, body?: unknown) {
  const res = await fetch(`${stack.url}/admin/v1${p}`, {
    method,
    headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A hostile node that says hello (with whatever it claims) and waits for the welcome. */
async function hostile(s: Stack, id: string, hello: Record<string, unknown> = {}) {
  const rogue = rawNodeSocket(s, id);
  await rogue.opened;
  rogue.ws.send(JSON.stringify({ ...helloFrame(id), ...hello }));
  await waitFor(`${id} welcomed`, () => rogue.frames.some((f) => f.type === 'hub.welcome'));
  return rogue;
}

async function honestServes(n = 3) {
  for (let i = 0; i < n; i++) {
    const r = await stack.openai.chat.completions.create({ model: 'demo-small', messages: [{ role: 'user', content: `still there ${i}` }], max_tokens: 2 });
    expect(r.choices[0].message.role).toBe('assistant');
  }
}

describe('a node claiming models it was never asked to load', () => {
  it('gets no prompts, its capacity claims are clamped, and the honest node serves everything', async () => {
    const rogue = await hostile(stack, 'aaa-rogue', {
      vram_budget_mb: 1e12,
      max_concurrency: 4096,
      loaded: [
        { model: 'demo-small', phase: 'ready' },
        { model: 'demo-plain', phase: 'ready' },
        { model: 'demo-embed', phase: 'loading' },
      ],
      inventory: [{ model: 'demo-small', bytes: 519_712, sha256: 'f'.repeat(64) }],
    });
    // It also makes up progress for a model nobody asked it to fetch.
    rogue.ws.send(JSON.stringify({ type: 'model.state', model: 'demo-large', phase: 'downloading', done_bytes: 1, total_bytes: 2 }));
    const view = await waitFor('the rogue in the fleet view', async () => (await nodes(stack)).find((n) => n.id === 'aaa-rogue' && n.online));
    expect(view.models).toEqual([]);
    expect(view).toMatchObject({ vram_budget_mb: NODE_BUDGET_CEILING_MB, max_concurrency: NODE_CONCURRENCY_CEILING });
    await waitFor('ignored reports counted', async () => {
      const n = (await nodes(stack)).find((x) => x.id === 'aaa-rogue') as unknown as { ignored_reports: number };
      return n.ignored_reports >= 4;
    });
    const warm = (await (await fetch(`${stack.url}/public/v1/models/warming?model=demo-large`)).json()) as { phase: string };
    expect(warm.phase).toBe('cold');

    // Its id sorts first and it claims 4096 free slots: a router that believed it would send it these.
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        stack.openai.chat.completions.create({ model: 'demo-small', messages: [{ role: 'user', content: `q${i}` }], max_tokens: 2 }),
      ),
    );
    expect(answers.every((a) => a.choices[0].message.role === 'assistant')).toBe(true);
    expect(rogue.frames.filter((f) => f.type === 'infer.start')).toEqual([]);

    // The operator caps it; the cap holds at once and across its reconnects.
    expect((await admin('PATCH', '/nodes/aaa-rogue', { max_budget_mb: 512, max_concurrency: 1 })).status).toBe(200);
    await waitFor('caps applied', async () =>
      (await nodes(stack)).find((n) => n.id === 'aaa-rogue' && (n as unknown as { vram_budget_mb: number }).vram_budget_mb === 512),
    );
    rogue.ws.close(1000, 'bye');
    await waitForNode(stack, 'aaa-rogue', (n) => !n.online);
  });
});

describe('a node failing another node’s load', () => {
  it('cannot fail the requests waiting on it', async () => {
    const rogue = await hostile(stack, 'spoiler');
    stack.origin.setRate(2);
    const pending = stack.openai.chat.completions.create({ model: 'demo-plain', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
    await waitFor('demo-plain downloading on the honest node', async () =>
      (await nodes(stack)).find((n) => n.id === 'honest')?.models.some((m) => m.model === 'demo-plain' && m.phase === 'downloading'),
    );
    rogue.ws.send(JSON.stringify({ type: 'model.state', model: 'demo-plain', phase: 'failed', error: { code: 'verify_failed', message: 'forged' } }));
    rogue.ws.send(JSON.stringify({ type: 'model.state', model: 'demo-plain', phase: 'stopped' }));
    await waitFor('the forged reports counted', async () => {
      const n = (await nodes(stack)).find((x) => x.id === 'spoiler') as unknown as { ignored_reports: number };
      return n.ignored_reports >= 2;
    });
    stack.origin.setRate(null);
    const answer = await pending;
    expect(answer.choices[0].message.role).toBe('assistant');
    rogue.ws.close(1000, 'bye');
  });
});

describe('a node leaking secrets in its errors', () => {
  it('reaches neither the API caller nor the public warming view with them', async () => {
    // demo-large fits only here, so the planner orders this node to load it.
    const rogue = await hostile(stack, 'leaker', { vram_budget_mb: 4096, max_concurrency: 2 });
    const failing = stack.openai.chat.completions.create({ model: 'demo-large', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }).then(
      () => null,
      (e: unknown) => e,
    );
    const load = await waitFor('hub.load for the leaker', () => rogue.frames.find((f) => f.type === 'hub.load' && f.model === 'demo-large'));
    rogue.ws.send(
      JSON.stringify({ type: 'model.state', id: load.id, model: 'demo-large', phase: 'failed', error: { code: 'download_failed', message: LEAKY_MESSAGE } }),
    );
    const err = await failing;
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).status).toBe(502);
    const warm = await (await fetch(`${stack.url}/public/v1/models/warming?model=demo-large`)).text();
    for (const text of [(err as APIError).message, warm]) {
      expect(text).toContain('origin answered HTTP 403 for [url]');
      for (const secret of LEAK) expect(text).not.toContain(secret);
    }

    // Ordered again, it reports ready (believed: it was asked), then answers the prompt with a leaky infer.error.
    const next = stack.openai.chat.completions.create({ model: 'demo-large', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }).then(
      () => null,
      (e: unknown) => e,
    );
    const again = await waitFor('a second hub.load', () => rogue.frames.filter((f) => f.type === 'hub.load').at(1));
    rogue.ws.send(JSON.stringify({ type: 'model.state', id: again.id, model: 'demo-large', phase: 'ready', vram_mb: 100 }));
    const start = await waitFor('the prompt', () => rogue.frames.find((f) => f.type === 'infer.start'));
    rogue.ws.send(JSON.stringify({ type: 'infer.error', id: start.id, code: 'engine_failed', message: LEAKY_MESSAGE }));
    const inferErr = await next;
    expect(inferErr).toBeInstanceOf(APIError);
    for (const secret of LEAK) expect((inferErr as APIError).message).not.toContain(secret);
    rogue.ws.close(1000, 'bye');
    await honestServes();
  });
});

describe('the fleet key', () => {
  it('cannot take over a node with its own key: the refusal leaves the live node connected and serving', async () => {
    const issued = await admin('POST', '/nodes', { node_id: 'keyed', trust: 'verified' });
    expect(issued.status).toBe(201);
    const keyed = stack.startAgent({ nodeId: 'keyed', nodeKey: String(issued.body.node_key), budgetMb: 64 });
    await waitForNode(stack, 'keyed');
    const thief = rawNodeSocket(stack, 'keyed');
    await expect(thief.opened).rejects.toThrow(/403/);
    const view = (await nodes(stack)).find((n) => n.id === 'keyed');
    expect(view?.online).toBe(true);
    // Never pushed off its socket (4003 replaced): none of the agent's lost-socket lines, which carry the close code.
    expect(keyed.output.join('\n')).not.toMatch(/disconnected; reconnecting|closed the connection for good/);
    await keyed.kill();
  });

  it('cannot connect as a node the operator configured, while that node’s socket stays open', async () => {
    const original = await hostile(stack, 'fleet-x');
    expect((await admin('PATCH', '/nodes/fleet-x', { trust: 'trusted' })).status).toBe(200);
    const thief = rawNodeSocket(stack, 'fleet-x');
    await expect(thief.opened).rejects.toThrow(/403/);
    expect(original.ws.readyState).toBe(original.ws.OPEN);
    original.ws.close(1000, 'bye');
    await honestServes(1);
  });
});

describe('distinct model ids on one node', () => {
  it('keep distinct weights files: org:model and org_model never share one', async () => {
    const small = 'ead208c631f77fbef1fc2f14a3ae9dfae61a45af9ff6cb915cdb87ca94aa2aee';
    const plain = 'ba228f80bb9f18e43b0ffc4f7eac4920565dbcfff8a2a18d6cad15079ad99ca9';
    // Same size, no sha256 pinned (so the operator allows unverified weights): a node that folded the two ids into one
    // file would serve the first one's weights as the second.
    const entry = (id: string, file: string) => ({
      id,
      enabled: true,
      context_length: 512,
      capabilities: ['chat'],
      vram_mb: 8,
      engine: 'builtin',
      weights: { url: `demo://${file}`, bytes: 519_712, allow_unverified: true },
    });
    expect((await admin('POST', '/models', entry('org:model', 'demo-small.gguf'))).status).toBe(201);
    expect((await admin('POST', '/models', entry('org_model', 'demo-plain.gguf'))).status).toBe(201);
    for (const model of ['org:model', 'org_model']) {
      const r = await stack.openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
      expect(r.choices[0].message.role).toBe('assistant');
    }
    const dir = path.join(stack.workDir, 'honest');
    const digest = (model: string) =>
      createHash('sha256')
        .update(readFileSync(path.join(dir, modelFileName(model))))
        .digest('hex');
    expect(modelFileName('org:model')).not.toBe(modelFileName('org_model'));
    expect(digest('org:model')).toBe(small);
    expect(digest('org_model')).toBe(plain);
    const inv = (await nodes(stack)).find((n) => n.id === 'honest') as unknown as { inventory: Array<{ model: string }> };
    expect(inv.inventory.map((i) => i.model)).toEqual(expect.arrayContaining(['org:model', 'org_model']));
  });
});

describe('the production default minimum trust (verified)', () => {
  let prod: Boot;
  beforeAll(async () => {
    prod = await bootStack({ vars: { PORTEN_DEFAULT_MIN_TRUST: 'verified' }, agents: [{ nodeId: 'volunteer', budgetMb: 4096 }] });
    await waitForNode(prod, 'volunteer');
  });
  afterAll(async () => prod?.stop());

  it('keeps prompts off community nodes unless a key asks for them', async () => {
    const refused = await prod.openai.chat.completions
      .create({ model: 'demo-small', messages: [{ role: 'user', content: 'secret plans' }], max_tokens: 2 })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(refused).toBeInstanceOf(APIError);
    expect((refused as APIError).status).toBe(503);
    expect((refused as APIError).message).toContain('PORTEN_DEFAULT_MIN_TRUST');
    const created = await fetch(`${prod.url}/admin/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${prod.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'open', min_trust: 'community' }),
    });
    const { key } = (await created.json()) as { key: string };
    const res = await fetch(`${prod.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'demo-small', messages: [{ role: 'user', content: 'fine to share' }], max_tokens: 2 }),
    });
    expect(res.status).toBe(200);
  });
});
