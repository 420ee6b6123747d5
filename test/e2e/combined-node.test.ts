import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureLlamaCppBuild } from '../../scripts/llama-cpp/build';
import { ROOT } from '../../scripts/stack';
import { freePort } from '../../nodes/engines/ports';
import { bootStack, nodes, waitFor, waitForNode } from './support';

// A combined node (issue 12): one `porten run --rpc-workers` agent pooling two local `porten worker`s
// (llama.cpp's ggml-rpc-server, built by `npm run llama:build`) with its own memory, serving demo-large
// through edge and agent; then one worker is SIGKILLed while a stream is running.
//
// Memory figures are chosen so demo-large (catalog 100 MB, 117 MB measured across both workers) does not
// fit the node alone (40 MB) but fits what remains after one worker is gone (40 + 150 MB): the next request
// is served by a reload on the surviving worker; once the last one is gone it is refused.

const LOCAL_MB = 40;
const LEND_MB = 150;

interface Worker {
  port: number;
  child: ChildProcess;
  output: string[];
  exited: Promise<unknown>;
}

/** A free port whose successor (the worker's status port) is free too. */
async function freePortPair(): Promise<number> {
  for (;;) {
    const port = await freePort();
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port + 1, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

async function startWorker(extra: string[] = []): Promise<Worker> {
  const port = await freePortPair();
  const child = spawn(process.execPath, [path.join(ROOT, 'nodes/bin/porten.js'), 'worker', '--port', String(port), '--threads', '1', ...extra], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const output: string[] = [];
  const keep = (b: Buffer) => output.push(...b.toString().split('\n').filter(Boolean));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise((r) => child.once('exit', r));
  await waitFor(`worker on ${port}`, () => output.some((l) => l.includes('worker listening')), 30_000);
  return { port, child, output, exited };
}

/** The ggml-rpc-server behind a worker: its pid (the worker's child, same process group). */
function rpcServerPid(w: Worker): number {
  const out = execFileSync('ps', ['-eo', 'pid=,pgid=,rss=,args='], { encoding: 'utf8' });
  const line = out.split('\n').find((l) => {
    const [, pgid, , ...args] = l.trim().split(/\s+/);
    return Number(pgid) === w.child.pid && args.join(' ').includes('ggml-rpc-server');
  });
  if (!line) throw new Error(`no ggml-rpc-server in the group of worker ${w.port}`);
  return Number(line.trim().split(/\s+/)[0]);
}

function rssMb(pid: number): number {
  return Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim()) / 1024;
}

let stack: Awaited<ReturnType<typeof bootStack>>;
const workers: Worker[] = [];
const nodeId = 'combined';
const agentLog = () => stack.agents[0].output;

beforeAll(async () => {
  await ensureLlamaCppBuild();
  // The first worker's owner caps what it lends; the second is capped by the combined node's list.
  workers.push(await startWorker(['--memory-mb', String(LEND_MB)]), await startWorker());
  const list = `127.0.0.1:${workers[0].port},127.0.0.1:${workers[1].port}=${LEND_MB}`;
  stack = await bootStack({
    agents: [{ nodeId, budgetMb: LOCAL_MB, env: { PORTEN_RPC_WORKERS: list, PORTEN_RPC_PROBE_MS: '200' } }],
  });
  await waitForNode(stack, nodeId);
}, 600_000);

afterAll(async () => {
  await stack?.stop();
  for (const w of workers) {
    try {
      process.kill(-w.child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

const chat = (body: Record<string, unknown>) =>
  fetch(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'demo-large', messages: [{ role: 'user', content: 'Tell me a story' }], seed: 1, ...body }),
  });

const node = async () =>
  (await nodes(stack)).find((n) => n.id === nodeId) as unknown as {
    vram_budget_mb: number;
    engines: string[];
    models: Array<{ model: string; phase: string; vram_mb: number | null }>;
  };

describe('combined node', () => {
  it('announces one node whose budget pools its workers and itself', async () => {
    const n = await node();
    expect(n.vram_budget_mb).toBe(LOCAL_MB + 2 * LEND_MB);
    expect(n.engines).toContain('llama-server');
    const up = agentLog().filter((l) => l.includes('rpc worker up'));
    expect(up).toHaveLength(2);
    // Agent logs are JSON lines.
    expect(up.every((l) => l.includes(`"lent_mb":${LEND_MB}`) && l.includes('"kind":"porten"'))).toBe(true);
    // `porten status` (the compiled CLI reading the running agent's status file) shows the pooled budget too.
    const statusFile = path.join(stack.workDir, nodeId, 'status.json');
    const status = await waitFor('the pooled budget in the status file', () => {
      const s = JSON.parse(
        execFileSync(process.execPath, [path.join(ROOT, 'nodes/bin/porten.js'), 'status', '--json', '--status-file', statusFile], { encoding: 'utf8' }),
      ) as { running: boolean; budget: { mb: number; source: string } };
      return s.budget.mb === LOCAL_MB + 2 * LEND_MB ? s : undefined;
    });
    expect(status).toMatchObject({ running: true, budget: { mb: LOCAL_MB + 2 * LEND_MB, source: 'rpc-pool' } });
  });

  it('serves demo-large across both workers, which really hold its layers', async () => {
    const before = workers.map((w) => rssMb(rpcServerPid(w)));
    const res = await chat({ max_tokens: 8 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: Array<{ message: { content: string } }>; usage: { completion_tokens: number } };
    expect(body.usage.completion_tokens).toBeGreaterThan(0);
    const placed = agentLog().find((l) => l.includes('placing across workers'))!;
    expect(placed).toContain(`127.0.0.1:${workers[0].port},127.0.0.1:${workers[1].port}`);
    // Each worker now holds tens of MB of weights and KV cache it did not hold before.
    workers.forEach((w, i) => expect(rssMb(rpcServerPid(w)) - before[i]).toBeGreaterThan(15));
    const m = (await node()).models.find((x) => x.model === 'demo-large')!;
    expect(m.phase).toBe('ready');
    expect(m.vram_mb).toBeGreaterThan(64);
  });

  it('a worker SIGKILLed mid-stream: clean error, model failed, budget shrinks, the next request is served on what remains', async () => {
    const res = await chat({ max_tokens: 2000, stream: true });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    // Wait for tokens to flow, then kill the second worker's RPC server outright.
    while (!text.includes('"content"')) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended before any token: ${text}`);
      text += decoder.decode(value, { stream: true });
    }
    const victim = workers[1];
    process.kill(-victim.child.pid!, 'SIGKILL');
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    // The stream ended (no hang) with an in-band error, not with a normal finish.
    const events = text.split('\n\n').filter((e) => e.startsWith('data: '));
    const last = events.filter((e) => e !== 'data: [DONE]').at(-1)!;
    expect(JSON.parse(last.slice(6))).toMatchObject({ error: { type: expect.any(String), message: expect.any(String) } });
    expect(text).not.toMatch(/"finish_reason":"(stop|length)"/);

    const warming = await waitFor('demo-large reported failed', async () => {
      const w = (await (await fetch(`${stack.url}/public/v1/models/warming?model=demo-large`)).json()) as { phase: string; error?: string };
      return w.phase === 'failed' ? w : undefined;
    });
    // The public warming view says what failed, not where: the worker's address stays in the node's own log.
    expect(warming.error).toContain('RPC worker [address] is unreachable');
    expect(warming.error).not.toContain(String(victim.port));
    await waitFor('the budget to shrink', async () => (await node()).vram_budget_mb === LOCAL_MB + LEND_MB);

    const next = await chat({ max_tokens: 8 });
    expect(next.status).toBe(200);
    expect(((await next.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBeGreaterThan(0);
    const placements = agentLog().filter((l) => l.includes('placing across workers'));
    expect(placements.at(-1)).toContain(`"workers":"127.0.0.1:${workers[0].port}"`);
    // The surviving worker was never lost: its RPC server outlived the llama-server that died mid-graph.
    expect(agentLog().filter((l) => l.includes('rpc worker lost'))).toEqual([expect.stringContaining(`127.0.0.1:${victim.port}`)]);
  });

  it('the last worker lost while idle: model failed, budget back to the node alone, the next request refused clearly', async () => {
    const last = workers[0];
    process.kill(-last.child.pid!, 'SIGKILL');
    const warming = await waitFor('demo-large reported failed', async () => {
      const w = (await (await fetch(`${stack.url}/public/v1/models/warming?model=demo-large`)).json()) as { phase: string; error?: string };
      return w.phase === 'failed' ? w : undefined;
    });
    expect(warming.error).toContain('RPC worker [address] is unreachable');
    expect(agentLog().some((l) => l.includes(`127.0.0.1:${last.port}`))).toBe(true);
    await waitFor('the budget to shrink to the node alone', async () => (await node()).vram_budget_mb === LOCAL_MB);
    const res = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json', 'x-porten-warmup-budget': '3' },
      body: JSON.stringify({ model: 'demo-large', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 }),
    });
    const body = (await res.json()) as { error?: { code: string; message: string } };
    // The planner sees one node of 40 MB now, and says so instead of waiting for a fit that cannot come.
    expect(res.status).toBe(503);
    expect(body.error).toMatchObject({ code: 'no_available_node', message: expect.stringContaining(`largest connected node has ${LOCAL_MB} MB`) });
  });
});
