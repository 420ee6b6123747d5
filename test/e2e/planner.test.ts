import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { APIError } from 'openai';
import { bootStack, nodes, waitFor, waitForNode } from './support';

type Stack = Awaited<ReturnType<typeof bootStack>>;

async function decisions(stack: Stack): Promise<Array<{ rule: string; outcome: string; model: string; node: string | null; reason: string }>> {
  const res = await fetch(`${stack.url}/admin/v1/planner/decisions?limit=50`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: Awaited<ReturnType<typeof decisions>> }).data;
}

async function loadedOn(stack: Stack, nodeId: string): Promise<string[]> {
  return (await nodes(stack))
    .find((n) => n.id === nodeId)!
    .models.map((m) => m.model)
    .sort();
}

function chat(stack: Stack, model: string, extra: object = {}, headers: Record<string, string> = {}) {
  return stack.openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4, ...extra }, { headers });
}

// 103 MB: demo-large (100) alone, or small demo models (8 in the catalog, 4 measured), never demo-large beside one.
// Each scenario gets its own stack: the demand ledger and the swap history of one must not decide the next
// (a model swapped back within 5 minutes must be twice as hot, by design).
async function tightNode(): Promise<Stack> {
  const stack = await bootStack({ agents: [{ nodeId: 'tight', budgetMb: 103 }] });
  await waitForNode(stack, 'tight');
  return stack;
}

describe('eviction on a node that fits one model', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await tightNode();
  });
  afterAll(async () => stack?.stop());

  it('evicts the idle model at once when another is requested, keeping its weights on disk', async () => {
    await chat(stack, 'demo-large');
    expect(await loadedOn(stack, 'tight')).toEqual(['demo-large']);
    const answer = await chat(stack, 'demo-small');
    expect(answer.choices[0].message.role).toBe('assistant');
    expect(await loadedOn(stack, 'tight')).toEqual(['demo-small']);
    const log = await decisions(stack);
    expect(log.find((d) => d.rule === 'demand_evict')).toMatchObject({
      outcome: 'unload',
      model: 'demo-large',
      node: 'tight',
      reason: expect.stringContaining('demo-small'),
    });
    expect(existsSync(path.join(stack.workDir, 'tight', 'demo-large.gguf'))).toBe(true);
  });
});

describe('eviction never races a request in flight', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await tightNode();
  });
  afterAll(async () => stack?.stop());

  it('never evicts a model with a stream in flight: the newcomer waits', async () => {
    await chat(stack, 'demo-large');
    // The agent starts a load only after the stops it makes room with, so this holds as soon as the answer is in.
    expect(await loadedOn(stack, 'tight')).toEqual(['demo-large']);
    const res = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'demo-large', messages: [{ role: 'user', content: 'a long one' }], max_tokens: 400, stream: true }),
    });
    const reader = res.body!.getReader();
    expect((await reader.read()).done).toBe(false);

    const blocked = await chat(stack, 'demo-plain', {}, { 'X-Porten-Warmup-Budget': '1' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(blocked).toBeInstanceOf(APIError);
    expect((blocked as APIError).code).toBe('model_warming');
    expect(await loadedOn(stack, 'tight')).toEqual(['demo-large']);
    const log = await decisions(stack);
    // Newest first: later plans (after the stream ended) may cite other blocks, so look for the one made while it ran.
    expect(log.filter((d) => d.model === 'demo-plain' && d.rule === 'no_fit').map((d) => d.reason)).toContainEqual(expect.stringContaining('busy'));

    while (!(await reader.read()).done);
    const after = await chat(stack, 'demo-plain');
    expect(after.choices[0].message.role).toBe('assistant');
    expect(await loadedOn(stack, 'tight')).toEqual(['demo-plain']);
  });
});

describe('idle eviction', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await bootStack({ agents: [{ nodeId: 'idler', budgetMb: 4096 }], vars: { PORTEN_DEMAND_WINDOW_S: '2' } });
    await waitForNode(stack, 'idler');
  });
  afterAll(async () => stack?.stop());

  it('unloads a model idle for a full demand window and keeps its weights on disk', async () => {
    await chat(stack, 'demo-small');
    expect(await loadedOn(stack, 'idler')).toEqual(['demo-small']);
    await waitFor('idle eviction', async () => (await loadedOn(stack, 'idler')).length === 0, 30_000);
    const log = await decisions(stack);
    expect(log.find((d) => d.rule === 'idle_evict')).toMatchObject({ outcome: 'unload', model: 'demo-small', node: 'idler' });
    expect(existsSync(path.join(stack.workDir, 'idler', 'demo-small.gguf'))).toBe(true);
    // Served again from disk: no second download.
    stack.origin.resetStats();
    await chat(stack, 'demo-small');
    expect(stack.origin.stats().bytes).toBe(0);
  });
});
