import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureLlamaCppBuild } from '../../scripts/llama-cpp/build';
import { ROOT } from '../../scripts/stack';
import { bootStack, nodes, waitForNode } from './support';

// A catalog entry with `"engine": "llama-server"` runs on llama-server even on a node whose GGUF engine is
// builtin, and the Hub places it only on nodes whose hello lists llama-server: here node-plain's override
// names no binary, so it lists builtin and openai only, and the model must land on node-llama.

let stack: Awaited<ReturnType<typeof bootStack>>;

beforeAll(async () => {
  await ensureLlamaCppBuild();
  stack = await bootStack({
    agents: [
      { nodeId: 'node-plain', budgetMb: 4096, env: { PORTEN_LLAMA_SERVER: path.join(ROOT, 'no-such-llama-server') } },
      { nodeId: 'node-llama', budgetMb: 4096 },
    ],
  });
  await Promise.all([waitForNode(stack, 'node-plain'), waitForNode(stack, 'node-llama')]);
}, 1_800_000);

afterAll(async () => {
  await stack?.stop();
});

it('a llama-server catalog entry is served by llama-server on the only node that has it', async () => {
  const listed = await nodes(stack);
  const engines = (id: string) => (listed.find((n) => n.id === id) as unknown as { engines: string[] }).engines;
  expect(engines('node-plain')).toEqual(['builtin', 'openai']);
  expect(engines('node-llama')).toEqual(['builtin', 'openai', 'llama-server']);

  const seed = JSON.parse(readFileSync(path.join(ROOT, 'catalog', 'models.json'), 'utf8')) as Array<Record<string, unknown>>;
  const small = seed.find((m) => m.id === 'demo-small')!;
  const entry = { ...small, id: 'demo-small-ls', engine: 'llama-server', description: 'demo-small on llama-server' };
  const put = await fetch(`${stack.url}/admin/v1/models`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(entry),
  });
  expect(put.status).toBe(201);

  const res = await stack.openai.chat.completions.create({ model: 'demo-small-ls', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4, seed: 1 });
  expect(res.model).toBe('demo-small-ls');
  expect(res.choices[0].message.role).toBe('assistant');
  const holder = (await nodes(stack)).filter((n) => n.models.some((m) => m.model === 'demo-small-ls'));
  expect(holder.map((n) => n.id)).toEqual(['node-llama']);
  const log = stack.agents.find((a) => a.spec.nodeId === 'node-llama')!.output;
  // Agent logs are JSON lines.
  expect(log.some((l) => l.includes('model ready') && l.includes('"engine":"llama-server"'))).toBe(true);
});
