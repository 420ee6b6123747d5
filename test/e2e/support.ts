import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import WebSocket from 'ws';
import { startStack, type StackOptions, type Stack } from '../../scripts/stack';

export type { Stack };

/** Starts a real stack (workerd edge, demo origin, agent processes) in a temp dir; `stop` also removes the dir. */
export async function bootStack(opts: Omit<StackOptions, 'workDir'> = {}): Promise<Stack & { workDir: string; openai: OpenAI }> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'porten-e2e-'));
  const quiet = process.env.PORTEN_TEST_VERBOSE ? undefined : () => undefined;
  const stack = await startStack({ workDir, log: quiet, ...opts });
  const openai = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: stack.apiKey, maxRetries: 0, timeout: 60_000 });
  return {
    ...stack,
    workDir,
    openai,
    async stop() {
      await stack.stop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` until it returns a truthy value; fails with `what` after `ms`. Used instead of sleeps. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface NodeInfo {
  id: string;
  online: boolean;
  models: Array<{ model: string; phase: string }>;
}

export async function nodes(stack: Stack): Promise<NodeInfo[]> {
  const res = await fetch(`${stack.url}/admin/v1/nodes`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
  if (!res.ok) throw new Error(`admin nodes: ${res.status}`);
  return ((await res.json()) as { data: NodeInfo[] }).data;
}

export function waitForNode(stack: Stack, nodeId: string, predicate: (n: NodeInfo) => boolean = (n) => n.online, ms?: number) {
  return waitFor(`node ${nodeId}`, async () => (await nodes(stack)).find((n) => n.id === nodeId && predicate(n)), ms);
}

/** A raw WebSocket to the agent endpoint, for tests that play a misbehaving node. */
export function rawNodeSocket(stack: Stack, nodeId: string, key = stack.nodeKey) {
  const ws = new WebSocket(`${stack.url.replace(/^http/, 'ws')}/agent/v1/connect`, {
    headers: { authorization: `Bearer ${key}`, 'x-porten-node-id': nodeId },
  });
  const frames: Array<Record<string, unknown>> = [];
  ws.on('message', (d) => frames.push(JSON.parse(String(d)) as Record<string, unknown>));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, frames, closed, opened };
}

/** Reads an SSE response to the end and returns its `data:` payloads. */
export async function readSse(res: Response): Promise<string[]> {
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((e) => e.startsWith('data: '))
    .map((e) => e.slice('data: '.length));
}

export function helloFrame(nodeId: string, v = 1) {
  return {
    type: 'node.hello',
    v,
    node_id: nodeId,
    agent_version: 'test',
    vram_budget_mb: 0,
    engines: ['builtin'],
    max_concurrency: 1,
    loaded: [],
    inventory: [],
  };
}
