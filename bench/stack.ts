import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack } from '../scripts/stack';
import { startInstantEngine } from './instant-engine';
import type { Target } from './overhead';

/** The real stack with one agent fronting the instant engine as model `bench-instant`. */
export async function bootBenchStack() {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'porten-bench-'));
  const engine = await startInstantEngine();
  const stack = await startStack({
    workDir,
    log: () => undefined,
    // The API as production serves it: no local emulation of Cloudflare's asset routing in front (scripts/edge.ts).
    staticAssets: false,
    agents: [
      // The node's owner allows the upstream the catalog entry names (a node fronts no other URL).
      { nodeId: 'bench-node', maxConcurrency: 256, budgetMb: 65536, env: { PORTEN_OPENAI_UPSTREAM_ALLOW: engine.url } },
    ],
  });
  const admin = { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' };
  const put = await fetch(`${stack.url}/admin/v1/models`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({
      id: 'bench-instant',
      enabled: true,
      context_length: 1 << 20,
      capabilities: ['chat'],
      vram_mb: 1,
      engine: 'openai',
      weights: { url: 'none://instant' },
      upstream_url: engine.url,
    }),
  });
  if (!put.ok) throw new Error(`registering bench-instant failed: ${put.status} ${await put.text()}`);
  const edge: Target = { url: stack.url, headers: { authorization: `Bearer ${stack.apiKey}` }, model: 'bench-instant' };
  const direct: Target = { url: engine.url, headers: {}, model: 'bench-instant' };
  // Warm: the first request makes the node "load" the model (a health check of the upstream).
  for (let i = 0; i < 50; i++) {
    const res = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...edge.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'bench-instant', messages: [{ role: 'user', content: 'warm' }] }),
    });
    if (res.ok) break;
    await res.text();
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    stack,
    edge,
    direct,
    async stop() {
      await stack.stop();
      await engine.close();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}
