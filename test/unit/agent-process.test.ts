import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloseCode, NodeToEdgeSchema, parseFrame, PROTOCOL_VERSION, type EdgeToNode, type NodeToEdge } from '../../src/protocol';
import { startDemoOrigin, type DemoOrigin } from '../../scripts/demo-origin';
import { ensureDemoModels, type DemoModelFile } from '../../scripts/make-demo-models';
import { EXIT } from '../../nodes/agent/exit-codes';

/**
 * The real agent CLI against a WebSocket server that plays the edge's side of
 * the protocol, with the real demo origin, downloader and builtin engine.
 * One agent process walks through the whole lifecycle to keep the suite light.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
type Frame = NodeToEdge & { conn: number };

class FakeEdge {
  readonly frames: Frame[] = [];
  sockets: WebSocket[] = [];
  private waiters: (() => void)[] = [];
  private wss!: WebSocketServer;
  authHeaders: { authorization?: string; nodeId?: string } = {};

  async start(): Promise<number> {
    this.wss = new WebSocketServer({ port: 0, host: '127.0.0.1', path: '/agent/v1/connect' });
    this.wss.on('connection', (ws, req) => {
      const conn = this.sockets.push(ws) - 1;
      this.authHeaders = { authorization: req.headers.authorization, nodeId: req.headers['x-porten-node-id'] as string };
      ws.on('message', (data) => {
        const r = parseFrame(NodeToEdgeSchema, data.toString());
        if (!r.ok) throw new Error(`agent sent an invalid frame: ${r.message}`);
        this.frames.push({ ...r.frame, conn });
        for (const w of this.waiters.splice(0)) w();
      });
    });
    await new Promise((r) => this.wss.once('listening', r));
    return (this.wss.address() as { port: number }).port;
  }

  get current(): WebSocket {
    return this.sockets[this.sockets.length - 1];
  }

  send(frame: EdgeToNode | Record<string, unknown>, raw?: string): void {
    this.current.send(raw ?? JSON.stringify(frame));
  }

  /** Waits for the first frame at or after `from` that matches; returns it with its index. */
  async waitFor<T extends NodeToEdge['type']>(
    type: T,
    pred: (f: Extract<Frame, { type: T }>) => boolean = () => true,
    from = 0,
  ): Promise<Extract<Frame, { type: T }> & { at: number }> {
    for (;;) {
      for (let i = from; i < this.frames.length; i++) {
        const f = this.frames[i];
        if (f.type === type && pred(f as Extract<Frame, { type: T }>)) return Object.assign(f as Extract<Frame, { type: T }>, { at: i });
      }
      from = this.frames.length;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  since(from: number, id: string): Frame[] {
    return this.frames.slice(from).filter((f) => 'id' in f && f.id === id);
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.terminate();
    return new Promise((r) => this.wss.close(() => r()));
  }
}

/** Running and not a zombie (a reparented child may linger unreaped in a container). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map(Number)
      .filter(Boolean);
  } catch {
    return [];
  }
}

/** The live builtin engine under the agent (not a zombie of one just killed, nor any other child). */
function engineOf(pid: number): number {
  const rows = execFileSync('ps', ['-o', 'pid=,stat=,args=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n');
  const live = rows
    .map((r) => r.trim().split(/\s+/))
    .filter(([p, stat, ...args]) => p && !stat.startsWith('Z') && /builtin\/server\.(ts|js)/.test(args.join(' ')));
  expect(live, rows.join('\n')).toHaveLength(1);
  return Number(live[0][0]);
}

/** The agent's children with their state and command, for failure messages. */
function describeChildren(pid: number): string {
  try {
    return execFileSync('ps', ['-o', 'pid=,stat=,args=', '--ppid', String(pid)], { encoding: 'utf8' }).slice(0, 3000);
  } catch {
    return 'no children';
  }
}

function startAgent(edgePort: number, modelsDir: string): ChildProcess {
  return spawn(
    process.execPath,
    [
      path.join(ROOT, 'nodes/bin/porten.js'),
      'run',
      '--edge',
      `http://127.0.0.1:${edgePort}`,
      '--node-id',
      'test-node',
      '--models-dir',
      modelsDir,
      '--budget-mb',
      '2048',
      '--max-concurrency',
      '2',
      '--threads',
      '1',
      '--status-file',
      path.join(modelsDir, 'status.json'),
    ],
    {
      cwd: ROOT,
      env: { ...process.env, PORTEN_NODE_KEY: 'secret-key' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
}

const chat = (max_tokens: number, stream = true) => ({
  model: 'demo-small',
  messages: [{ role: 'user', content: 'Tell me a long story.' }],
  max_tokens,
  temperature: 0,
  stream,
  ...(stream ? { stream_options: { include_usage: true } } : {}),
});

describe('agent process against a real socket', () => {
  const edge = new FakeEdge();
  let origin: DemoOrigin;
  let small: DemoModelFile;
  let tmp: string;
  let agent: ChildProcess;
  let exited: Promise<number | null>;
  let stderr = '';
  let loadSeq = 0;

  const load = (to = edge) => {
    const id = `load-${++loadSeq}`;
    to.send({
      type: 'hub.load',
      id,
      model: 'demo-small',
      engine: 'builtin',
      source: { url: `${origin.url}/${small.file}`, sha256: small.sha256, bytes: small.bytes },
      context_length: 512,
    });
    return id;
  };

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'porten-agent-'));
    const demoDir = process.env.PORTEN_DEMO_MODELS_DIR || path.join(ROOT, '.porten', 'demo-models');
    small = (await ensureDemoModels(demoDir)).find((m) => m.id === 'demo-small')!;
    origin = await startDemoOrigin({ dir: demoDir });
    agent = startAgent(await edge.start(), path.join(tmp, 'models'));
    agent.stderr!.on('data', (d) => (stderr += d));
    exited = new Promise((r) => agent.once('exit', (code) => r(code)));
  }, 60_000);

  afterAll(async () => {
    if (agent.exitCode === null) agent.kill('SIGKILL');
    await edge.close();
    await origin?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('says hello with its key and id, and heartbeats after the welcome', async () => {
    const hello = await edge.waitFor('node.hello');
    expect(edge.authHeaders).toEqual({ authorization: 'Bearer secret-key', nodeId: 'test-node' });
    expect(hello).toMatchObject({
      v: PROTOCOL_VERSION,
      node_id: 'test-node',
      vram_budget_mb: 2048,
      max_concurrency: 2,
      loaded: [],
      inventory: [],
      engines: expect.arrayContaining(['builtin']),
    });
    edge.send({ type: 'hub.welcome', v: PROTOCOL_VERSION, node_id: 'test-node', heartbeat_s: 0.5 });
    expect(await edge.waitFor('node.heartbeat', undefined, hello.at)).toMatchObject({ inflight: 0 });
  });

  it('answers an invalid frame with an error echoing its id and keeps serving', async () => {
    const mark = edge.frames.length;
    edge.send({}, JSON.stringify({ type: 'infer.start', id: 'bad-1', model: 'demo-small', path: '/v1/nope', body: {} }));
    expect(await edge.waitFor('error', (f) => f.id === 'bad-1', mark)).toMatchObject({ code: 'bad_frame', message: expect.stringContaining('path') });
    edge.send({}, 'not json');
    await edge.waitFor('error', (f) => f.id === undefined, mark);
    edge.send({ type: 'infer.start', id: 'early', model: 'demo-small', path: '/v1/chat/completions', body: chat(4) });
    expect(await edge.waitFor('infer.error', (f) => f.id === 'early', mark)).toMatchObject({ code: 'unknown_model' });
  });

  it('downloads, starts and reports a model ready; a second load answers at once', async () => {
    const mark = edge.frames.length;
    const id = load();
    const ready = await edge.waitFor('model.state', (f) => f.id === id && (f.phase === 'ready' || f.phase === 'failed'), mark);
    expect(ready, JSON.stringify(ready) + stderr).toMatchObject({ phase: 'ready', model: 'demo-small' });
    expect(ready.vram_mb).toBeGreaterThanOrEqual(0);
    const phases = edge.since(mark, id).map((f) => (f as { phase: string }).phase);
    expect(phases[0]).toBe('downloading');
    expect(phases.indexOf('loading')).toBeGreaterThan(phases.lastIndexOf('downloading'));
    expect(phases.at(-1)).toBe('ready');
    await edge.waitFor('node.inventory', (f) => f.inventory.some((i) => i.model === 'demo-small' && i.bytes === small.bytes), mark);

    const again = load();
    expect(await edge.waitFor('model.state', (f) => f.id === again, mark)).toMatchObject({ phase: 'ready' });
  }, 90_000);

  it('answers at once, then streams a completion as head, numbered chunks and an end with usage and engine timings', async () => {
    const mark = edge.frames.length;
    edge.send({ type: 'infer.start', id: 'r1', model: 'demo-small', path: '/v1/chat/completions', body: chat(300) });
    const end = await edge.waitFor('infer.end', (f) => f.id === 'r1', mark);
    const frames = edge.since(mark, 'r1');
    // The first answer is the head, or infer.accepted when the engine took longer than ACK_DELAY_MS (nodes/agent/acks.ts) to give one.
    const head = frames.findIndex((f) => f.type === 'infer.head');
    expect(frames.slice(0, head).map((f) => f.type)).toEqual(head === 0 ? [] : ['infer.accepted']);
    expect(frames[head]).toMatchObject({ type: 'infer.head', status: 200, content_type: expect.stringContaining('text/event-stream') });
    expect(end.timings!.ttft_ms).toBeGreaterThan(0);
    expect(end.timings!.total_ms).toBeGreaterThanOrEqual(end.timings!.ttft_ms);
    const chunks = frames.filter((f) => f.type === 'infer.chunk') as Extract<NodeToEdge, { type: 'infer.chunk' }>[];
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => i));
    expect(end.chunks).toBe(chunks.length);
    const body = chunks.map((c) => c.data).join('');
    for (const c of chunks) expect(c.data).toMatch(/\n\n$/);
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(end.usage).toMatchObject({ completion_tokens: expect.any(Number), prompt_tokens: expect.any(Number) });
    expect(end.usage!.total_tokens).toBe(end.usage!.prompt_tokens + end.usage!.completion_tokens);
  }, 60_000);

  it('acknowledges a request that has nothing to answer with yet (its body still in parts), once, then serves it', async () => {
    const mark = edge.frames.length;
    const body = JSON.stringify(chat(4, false));
    const half = body.length >> 1;
    edge.send({ type: 'infer.start', id: 'parts-1', model: 'demo-small', path: '/v1/chat/completions', body_parts: 2 });
    // The acknowledgement comes on its own: nothing else can answer before the parts arrive.
    await edge.waitFor('infer.accepted', (f) => f.id === 'parts-1', mark);
    edge.send({ type: 'infer.body', id: 'parts-1', seq: 0, data: body.slice(0, half) });
    edge.send({ type: 'infer.body', id: 'parts-1', seq: 1, data: body.slice(half) });
    await edge.waitFor('infer.end', (f) => f.id === 'parts-1', mark);
    const types = edge.since(mark, 'parts-1').map((f) => f.type);
    expect(types.filter((t) => t === 'infer.accepted')).toHaveLength(1);
    expect(types.indexOf('infer.accepted')).toBeLessThan(types.indexOf('infer.head'));
  }, 60_000);

  it('relays JSON bodies with usage and passes engine 4xx through', async () => {
    const mark = edge.frames.length;
    edge.send({ type: 'infer.start', id: 'j1', model: 'demo-small', path: '/v1/chat/completions', body: chat(4, false) });
    const end = await edge.waitFor('infer.end', (f) => f.id === 'j1', mark);
    expect(end.usage?.completion_tokens).toBeGreaterThan(0);
    expect(
      JSON.parse(
        edge
          .since(mark, 'j1')
          .filter((f) => f.type === 'infer.chunk')
          .map((f) => (f as { data: string }).data)
          .join(''),
      ),
    ).toMatchObject({ object: 'chat.completion' });

    edge.send({ type: 'infer.start', id: 'bad-body', model: 'demo-small', path: '/v1/chat/completions', body: { model: 'demo-small' } });
    await edge.waitFor('infer.end', (f) => f.id === 'bad-body', mark);
    const head = edge.since(mark, 'bad-body').find((f) => f.type === 'infer.head');
    expect(head).toMatchObject({ type: 'infer.head', status: 400 });
  }, 60_000);

  it('stops a stream on infer.cancel', async () => {
    const mark = edge.frames.length;
    const engine = engineOf(agent.pid!);
    // demo-small writes 480 tokens in ~0.4 s: on a starved machine a stream can end before the test sees its first
    // chunk. Such an attempt proves nothing either way, so the test tries again with a new request (at most five).
    let err: Awaited<ReturnType<typeof edge.waitFor<'infer.error'>>> | undefined;
    let id = '';
    for (let attempt = 1; attempt <= 5 && !err; attempt++) {
      id = `c1-${attempt}`;
      const from = edge.frames.length;
      edge.send({ type: 'infer.start', id, model: 'demo-small', path: '/v1/chat/completions', body: chat(480) });
      await edge.waitFor('infer.chunk', (f) => f.id === id, from);
      // Freeze the engine so nothing more is generated while the cancel travels.
      process.kill(engine, 'SIGSTOP');
      edge.send({ type: 'infer.cancel', id });
      const end = await Promise.race([edge.waitFor('infer.error', (f) => f.id === id, from), edge.waitFor('infer.end', (f) => f.id === id, from)]).finally(() =>
        process.kill(engine, 'SIGCONT'),
      );
      if (end.type === 'infer.error') err = end;
    }
    expect(err?.code).toBe('cancelled');
    // Serve another request to completion: the cancelled one must have sent nothing more meanwhile.
    edge.send({ type: 'infer.start', id: 'c2', model: 'demo-small', path: '/v1/chat/completions', body: chat(8) });
    await edge.waitFor('infer.end', (f) => f.id === 'c2', mark);
    expect(edge.since(err!.at + 1, id)).toEqual([]);
    expect(edge.since(mark, id).some((f) => f.type === 'infer.end')).toBe(false);
  }, 60_000);

  it('reconnects after the socket drops and re-announces the loaded model', async () => {
    const mark = edge.frames.length;
    const before = edge.sockets.length;
    edge.current.terminate();
    const hello = await edge.waitFor('node.hello', (f) => f.conn === before, mark);
    expect(hello.loaded).toContainEqual(expect.objectContaining({ model: 'demo-small', phase: 'ready' }));
    expect(hello.inventory).toContainEqual({ model: 'demo-small', bytes: small.bytes, sha256: small.sha256 });
    edge.send({ type: 'hub.welcome', v: PROTOCOL_VERSION, node_id: 'test-node', heartbeat_s: 0.5 });
    await edge.waitFor('node.heartbeat', (f) => f.conn === before, mark);
  }, 30_000);

  it('reports an engine crash as failed, fails its requests, and reloads on the next hub.load', async () => {
    let failedRequest = false;
    // As above: an attempt whose stream ended before the kill landed is retried after a reload (at most five).
    for (let attempt = 1; attempt <= 5 && !failedRequest; attempt++) {
      const mark = edge.frames.length;
      const engine = engineOf(agent.pid!);
      const id = `k1-${attempt}`;
      edge.send({ type: 'infer.start', id, model: 'demo-small', path: '/v1/chat/completions', body: chat(480) });
      await edge.waitFor('infer.chunk', (f) => f.id === id, mark);
      process.kill(engine, 'SIGSTOP');
      process.kill(engine, 'SIGKILL');
      const end = await Promise.race([edge.waitFor('infer.error', (f) => f.id === id, mark), edge.waitFor('infer.end', (f) => f.id === id, mark)]);
      if (end.type === 'infer.error') {
        expect(end).toMatchObject({ code: 'engine_failed' });
        failedRequest = true;
      }
      const failed = await edge.waitFor('model.state', (f) => f.phase === 'failed', mark);
      expect(failed.error).toMatchObject({ code: 'engine_failed', message: expect.stringContaining('SIGKILL') });
      edge.send({ type: 'infer.start', id: `k2-${attempt}`, model: 'demo-small', path: '/v1/chat/completions', body: chat(4) });
      expect(await edge.waitFor('infer.error', (f) => f.id === `k2-${attempt}`, mark)).toMatchObject({ code: 'unknown_model' });

      const loadId = load();
      expect(await edge.waitFor('model.state', (f) => f.id === loadId && (f.phase === 'ready' || f.phase === 'failed'), mark)).toMatchObject({
        phase: 'ready',
      });
    }
    expect(failedRequest).toBe(true);
  }, 120_000);

  it('unloads on hub.unload: the engine process ends and weights stay on disk', async () => {
    const mark = edge.frames.length;
    const before = describeChildren(agent.pid!);
    const engines = [engineOf(agent.pid!)];
    edge.send({ type: 'hub.unload', id: 'u1', model: 'demo-small' });
    await edge.waitFor('model.state', (f) => f.id === 'u1' && f.phase === 'stopped', mark);
    expect(engines.filter(isAlive), `before:\n${before}\nafter:\n${describeChildren(agent.pid!)}`).toEqual([]);
    edge.send({ type: 'infer.start', id: 'u2', model: 'demo-small', path: '/v1/chat/completions', body: chat(4) });
    expect(await edge.waitFor('infer.error', (f) => f.id === 'u2', mark)).toMatchObject({ code: 'unknown_model' });

    const id = load();
    expect(await edge.waitFor('model.state', (f) => f.id === id && (f.phase === 'ready' || f.phase === 'failed'), mark)).toMatchObject({ phase: 'ready' });
    expect(edge.frames.slice(mark).some((f) => f.type === 'node.inventory')).toBe(false);
  }, 60_000);

  it('exits 3 (refused: no restart helps) on a final close code and leaves no engine behind', async () => {
    const engines = [engineOf(agent.pid!)];
    edge.current.close(CloseCode.unauthorized, 'bad key');
    expect(await exited).toBe(EXIT.refused);
    expect(stderr).toMatch(/closed the connection for good \(code 4001/);
    expect(engines.filter(isAlive)).toEqual([]);
  }, 30_000);

  it('takes its engine down with it even when killed with SIGKILL', async () => {
    const edge2 = new FakeEdge();
    const second = startAgent(await edge2.start(), path.join(tmp, 'models'));
    try {
      await edge2.waitFor('node.hello');
      edge2.send({ type: 'hub.welcome', v: PROTOCOL_VERSION, node_id: 'test-node', heartbeat_s: 5 });
      const id = load(edge2);
      expect(await edge2.waitFor('model.state', (f) => f.id === id && (f.phase === 'ready' || f.phase === 'failed'))).toMatchObject({ phase: 'ready' });
      const engines = childrenOf(second.pid!);
      expect(engines.length).toBe(1);
      const gone = new Promise((r) => second.once('exit', r));
      second.kill('SIGKILL');
      await gone;
      // The engine notices its parent is gone (parent-watch preload); wait on that condition.
      while (engines.some(isAlive)) await new Promise((r) => setTimeout(r, 50));
    } finally {
      if (second.exitCode === null && second.signalCode === null) second.kill('SIGKILL');
      await edge2.close();
    }
  }, 60_000);
});
