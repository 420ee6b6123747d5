import { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCOPE_GRACE_MS } from '../../src/hub/leases';
import { CloseCode, NODE_PING } from '../../src/protocol';
import { bootStack, helloFrame, rawNodeSocket, readSse, waitFor, waitForNode } from './support';

/**
 * Hand-written hostile nodes on the data plane, against the real edge on
 * workerd, beside an honest agent process (builtin engine) that keeps serving.
 * The rogue holds a real load order: the honest node is too small for
 * demo-large, so the Hub orders the rogue to load it, believes its `ready`,
 * and sends it real users' prompts — which it then answers as it likes.
 */
type Boot = Awaited<ReturnType<typeof bootStack>>;
type Frame = Record<string, unknown>;
let stack: Boot;

/** The edge's stall deadline for this stack (PORTEN_NODE_STALL_S): a silent node is given up on after this. */
const STALL_S = 2;
/** Frames per second a node may send in this stack (PORTEN_NODE_FRAME_RATE; twice that at once): far above what the honest agent sends here. */
const FRAME_RATE = 500;
const DEMO_SMALL_SHA = 'ead208c631f77fbef1fc2f14a3ae9dfae61a45af9ff6cb915cdb87ca94aa2aee';

beforeAll(async () => {
  stack = await bootStack({
    vars: { PORTEN_NODE_STALL_S: String(STALL_S), PORTEN_NODE_FRAME_RATE: String(FRAME_RATE) },
    agents: [{ nodeId: 'honest', budgetMb: 64 }],
  });
  await waitForNode(stack, 'honest');
  await stack.openai.chat.completions.create({ model: 'demo-small', messages: [{ role: 'user', content: 'warm up' }], max_tokens: 2 });
});
afterAll(async () => stack?.stop());

interface Rogue {
  frames: Frame[];
  closed: Promise<{ code: number; reason: string }>;
  send: (f: Frame | string) => void;
  /** How the rogue answers each infer.start; tests swap it. */
  answer: (start: Frame) => void;
  close: () => void;
}

/**
 * A rogue node: says hello with room to spare, "loads" whatever the Hub orders
 * (answers `ready` at once), pings and heartbeats like a live agent, and
 * answers each prompt with `answer`.
 */
async function rogue(id: string, hello: Frame = {}): Promise<Rogue> {
  const s = rawNodeSocket(stack, id);
  await s.opened;
  const send = (f: Frame | string) => {
    if (s.ws.readyState === s.ws.OPEN) s.ws.send(typeof f === 'string' ? f : JSON.stringify(f));
  };
  const r: Rogue = { frames: s.frames, closed: s.closed, send, answer: (start) => json(r, start, okBody(start)), close: () => s.ws.close(1000, 'bye') };
  s.ws.on('message', (d) => {
    const f = JSON.parse(String(d)) as Frame;
    if (f.type === 'hub.load') send({ type: 'model.state', id: f.id, model: f.model, phase: 'ready', vram_mb: 100 });
    if (f.type === 'infer.start') r.answer(f);
  });
  const alive = setInterval(() => {
    send(NODE_PING);
    send({ type: 'node.heartbeat', inflight: 0 });
  }, 1000);
  void s.closed.then(() => clearInterval(alive));
  send({ ...helloFrame(id), vram_budget_mb: 4096, max_concurrency: 4, features: ['accepted', 'ping'], ...hello });
  await waitFor(`${id} welcomed`, () => s.frames.some((f) => f.type === 'hub.welcome'));
  return r;
}

function okBody(start: Frame): string {
  return JSON.stringify({
    id: start.id,
    object: 'chat.completion',
    created: 0,
    model: start.model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'rogue says hi' }, finish_reason: 'stop' }],
  });
}

/** A whole non-streamed answer: head, one chunk, end. */
function json(r: Rogue, start: Frame, body: string, head: { status?: number; content_type?: string } = {}, usage?: Frame) {
  r.send({ type: 'infer.accepted', id: start.id });
  r.send({ type: 'infer.head', id: start.id, status: head.status ?? 200, content_type: head.content_type ?? 'application/json' });
  r.send({ type: 'infer.chunk', id: start.id, seq: 0, data: body });
  r.send({ type: 'infer.end', id: start.id, chunks: 1, ...(usage ? { usage } : {}) });
}

const starts = (r: Rogue) => r.frames.filter((f) => f.type === 'infer.start');

function chat(model: string, extra: Frame = {}, key = stack.apiKey, headers: Record<string, string> = {}) {
  return fetch(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    redirect: 'manual',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, ...extra }),
  });
}

async function honestServes(n = 2) {
  for (let i = 0; i < n; i++) {
    const r = await stack.openai.chat.completions.create({ model: 'demo-small', messages: [{ role: 'user', content: `still there ${i}` }], max_tokens: 2 });
    expect(r.choices[0].message.role).toBe('assistant');
  }
}

/** A stream on the honest node with its first chunk read; `rest` reads it to the end and counts the chunks after that. */
async function honestStreamStarted() {
  const stream = await stack.openai.chat.completions.create({
    model: 'demo-small',
    messages: [{ role: 'user', content: 'go on' }],
    max_tokens: 200,
    stream: true,
  });
  const it = stream[Symbol.asyncIterator]();
  expect((await it.next()).done).toBe(false);
  return {
    async rest() {
      let n = 0;
      for (let c = await it.next(); !c.done; c = await it.next()) n++;
      return n;
    },
  };
}

/** The honest agent's socket never dropped: it was welcomed once and never disconnected. */
function honestSocketUntouched() {
  const out = stack.agents.find((a) => a.spec.nodeId === 'honest')!.output.join('\n');
  expect(out.match(/welcomed by edge/g)).toHaveLength(1);
  // Every way the agent logs a lost socket (link.ts, agent.ts), close code included; a bare "1009" would also match
  // the random hex of request ids in the log.
  expect(out).not.toMatch(/disconnected; reconnecting|edge silent; reconnecting|closed the connection for good/);
}

/** An OpenAI error body in JSON, with the edge's status and content type: what a client may get when a node broke the rules. */
async function expectEdgeError(res: Response, status: number) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.headers.get('location')).toBeNull();
  const text = await res.text();
  expect(text).not.toMatch(/<html|<script/i);
  const body = JSON.parse(text) as { error: { message: string; type: string; code: string } };
  expect(body.error).toMatchObject({ type: expect.any(String), code: expect.any(String), message: expect.any(String) });
  return body.error;
}

describe('a node holding a real load order', () => {
  let r: Rogue;
  beforeAll(async () => {
    r = await rogue('rogue');
    // The first prompt for demo-large makes the Hub order the rogue to load it; the rogue answers it properly.
    const first = await stack.openai.chat.completions.create({ model: 'demo-large', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });
    expect(first.choices[0].message.content).toBe('rogue says hi');
    expect(r.frames.some((f) => f.type === 'hub.load' && f.model === 'demo-large')).toBe(true);
    expect(starts(r)).toHaveLength(1);
  });

  describe('shaping the client’s response', () => {
    it('a 302 with text/html and a Location-looking body: the client gets the edge’s 502 JSON error, no redirect', async () => {
      r.answer = (start) => json(r, start, '<html><a href="https://evil.example/">moved</a></html>', { status: 302, content_type: 'text/html' });
      const err = await expectEdgeError(await chat('demo-large'), 502);
      expect(err.code).toBe('upstream_error');
      expect(err.message).not.toContain('evil.example');
      // The real openai client sees an APIError it understands, not a redirect it follows.
      const sdk = await stack.openai.chat.completions.create({ model: 'demo-large', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(sdk).toBeInstanceOf(APIError);
      expect((sdk as APIError).status).toBe(502);
      await honestServes();
    });

    it('a 200 with text/html and an HTML body: 502 JSON, no HTML reaches the client', async () => {
      r.answer = (start) => json(r, start, '<html><script>alert(document.cookie)</script></html>', { status: 200, content_type: 'text/html' });
      const err = await expectEdgeError(await chat('demo-large'), 502);
      expect(err.message).toBe('The node answered with a body that is not a JSON object.');
      // Asked for a stream, the same text/html head is not taken as one: still a 502 in JSON.
      await expectEdgeError(await chat('demo-large', { stream: true }), 502);
      await honestServes();
    });

    it('a stream whose data is not server-sent events: the client gets SSE with an in-band error and the end', async () => {
      r.answer = (start) => {
        r.send({ type: 'infer.accepted', id: start.id });
        r.send({ type: 'infer.head', id: start.id, status: 200, content_type: 'text/event-stream' });
        r.send({ type: 'infer.chunk', id: start.id, seq: 0, data: '<script>alert(1)</script>\n\n' });
        r.send({ type: 'infer.end', id: start.id, chunks: 1 });
      };
      const res = await chat('demo-large', { stream: true });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(res.headers.get('location')).toBeNull();
      const events = await readSse(res);
      expect(events).toHaveLength(1);
      expect(events.join('')).not.toContain('<script');
      expect(JSON.parse(events[0])).toMatchObject({ error: { code: 'upstream_error', message: 'stream data is not server-sent events' } });
      // The openai client's stream ends in an APIError.
      const stream = await stack.openai.chat.completions.create({ model: 'demo-large', messages: [{ role: 'user', content: 'hi' }], stream: true });
      const read = (async () => {
        for await (const _ of stream) {
          // a hostile stream yields nothing here
        }
      })().then(
        () => null,
        (e: unknown) => e,
      );
      const failure = await read;
      expect(failure).toBeInstanceOf(APIError);
      expect((failure as APIError).message).toContain('stream data is not server-sent events');
      await honestServes();
    });
  });

  describe('inflating usage', () => {
    it('bills at most what the request allowed, never exhausts a quota, and never 500s', async () => {
      const created = await fetch(`${stack.url}/admin/v1/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'metered', quota_tokens: 5000, quota_period: 'day' }),
      });
      expect(created.status).toBe(201);
      const key = (await created.json()) as { id: string; key: string };

      const claims: Frame[] = [
        { prompt_tokens: 1e12, completion_tokens: 1e12, total_tokens: 2e12 },
        { prompt_tokens: Number.MAX_SAFE_INTEGER, completion_tokens: Number.MAX_SAFE_INTEGER, total_tokens: Number.MAX_SAFE_INTEGER },
        { prompt_tokens: 3, completion_tokens: -1e12, total_tokens: -1e12 },
        { prompt_tokens: 3, completion_tokens: 2.5, total_tokens: 5.5 },
      ];
      const statuses: number[] = [];
      for (const usage of claims) {
        r.answer = (start) => json(r, start, okBody(start), {}, usage);
        const res = await chat('demo-large', {}, key.key);
        statuses.push(res.status);
        await res.text();
      }
      // Absurd but well-formed counts are clamped; malformed ones (negative, fractional) make the frame invalid and the request fail cleanly.
      expect(statuses).toEqual([200, 200, 502, 502]);

      const rows = await waitFor('the metered key’s ledger rows', async () => {
        const res = await fetch(`${stack.url}/admin/v1/usage?group_by=key`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
        expect(res.status).toBe(200);
        const data = ((await res.json()) as { data: Array<{ key_id?: string; requests: number; prompt_tokens: number; completion_tokens: number }> }).data;
        const mine = data.filter((x) => x.key_id === key.id);
        return mine.reduce((n, x) => n + x.requests, 0) >= claims.length ? mine : null;
      });
      const billed = rows.reduce((n, x) => ({ prompt: n.prompt + x.prompt_tokens, completion: n.completion + x.completion_tokens }), {
        prompt: 0,
        completion: 0,
      });
      // Two requests were billed, each at most max_tokens (5) completion tokens and the model's context (512) prompt tokens.
      expect(billed).toEqual({ prompt: 2 * 512, completion: 2 * 5 });

      // The key's daily quota (5000) is not used up by the 1e12 claims: it still gets answers.
      const after = await chat('demo-small', {}, key.key);
      expect(after.status).toBe(200);
      await after.text();
      await honestServes();
    });
  });

  describe('going silent after accepting', () => {
    it('the client gets a clear error within the stall bound, not a hang', async () => {
      r.answer = (start) => r.send({ type: 'infer.accepted', id: start.id });
      const before = starts(r).length;
      const t0 = Date.now();
      const res = await chat('demo-large');
      const ms = Date.now() - t0;
      const err = await expectEdgeError(res, 502);
      // Stalled (PORTEN_NODE_STALL_S), handed back, and — with no other node holding demo-large — failed after the Hub's short grace.
      expect(err).toMatchObject({ code: 'upstream_error', message: expect.stringContaining("Every node serving 'demo-large' failed this request") });
      expect(res.headers.get('retry-after')).toBe('2');
      expect(starts(r).length).toBe(before + 1);
      expect(ms).toBeGreaterThanOrEqual(STALL_S * 1000);
      // Bounded by the stall deadline plus the grace (with room for a loaded machine), not by the 300 s warm-up budget.
      expect(ms).toBeLessThan(STALL_S * 1000 + SCOPE_GRACE_MS + 15_000);
      console.log(`silent node (no other replica): clear error after ${ms} ms, ${starts(r).length - before} tries`);
      await honestServes();
    });
  });

  describe('flooding frames', () => {
    it('has its socket closed with the documented code; the honest node’s stream and requests are unaffected', async () => {
      const inFlight = await honestStreamStarted();
      const t0 = Date.now();
      const beat = JSON.stringify({ type: 'node.heartbeat', inflight: 0 });
      // Ten times the burst, as fast as the socket takes them.
      for (let i = 0; i < 20 * FRAME_RATE; i++) r.send(beat);
      const closed = await r.closed;
      console.log(`frame flood: socket closed after ${Date.now() - t0} ms`);
      expect(closed).toEqual({ code: CloseCode.protocolViolation, reason: 'frame rate exceeded' });
      expect(await inFlight.rest()).toBeGreaterThan(0);
      await waitForNode(stack, 'rogue', (n) => !n.online);
      await honestServes();
      honestSocketUntouched();
    });
  });
});

describe('a silent replica beside the honest node', () => {
  it('before any byte reached the client, the request is retried on the honest node within the stall bound', async () => {
    // Verified weights (the catalog's sha256) earn it a demo-small replica beside the honest node's.
    const quiet = await rogue('quiet', {
      max_concurrency: 1,
      loaded: [{ model: 'demo-small', phase: 'ready' }],
      inventory: [{ model: 'demo-small', bytes: 519_712, sha256: DEMO_SMALL_SHA }],
    });
    quiet.answer = (start) => quiet.send({ type: 'infer.accepted', id: start.id });
    await waitForNode(stack, 'quiet', (n) => n.models.some((m) => m.model === 'demo-small' && m.phase === 'ready'));
    // Requests go to the least loaded replica with random ties: ask until one lands on the quiet node.
    let n = 0;
    const answered = await waitFor('a request that went to the quiet node first', async () => {
      const rid = `probe-${n++}`;
      const t0 = Date.now();
      const res = await chat('demo-small', { max_tokens: 2 }, stack.apiKey, { 'x-request-id': rid });
      const body = (await res.json()) as { choices: Array<{ message: { role: string } }> };
      expect(res.status).toBe(200);
      return starts(quiet).some((f) => f.request_id === rid) ? { res: body, ms: Date.now() - t0 } : null;
    });
    expect(answered.res.choices[0].message.role).toBe('assistant');
    expect(answered.ms).toBeGreaterThanOrEqual(STALL_S * 1000);
    console.log(`silent replica: retried and served by the honest node after ${answered.ms} ms`);
    quiet.close();
    await waitForNode(stack, 'quiet', (n) => !n.online);
    await honestServes();
  });
});

describe('a request body between 4 and 8 MiB', () => {
  it('reaches the honest agent in parts: its socket stays open, its other stream finishes, and the client gets a clean 400', async () => {
    const inFlight = await honestStreamStarted();
    const content = 'lorem ipsum '.repeat(Math.ceil((6 * 1024 * 1024) / 12));
    const t0 = Date.now();
    const res = await chat('demo-small', { messages: [{ role: 'user', content }] });
    const ms = Date.now() - t0;
    const err = await expectEdgeError(res, 400);
    console.log(`6 MiB body: ${res.status} ${err.code} after ${ms} ms: ${err.message}`);
    // The body went out in infer.body parts (no 1009); the builtin engine reads at most 4 MiB and says so, as a 400.
    expect(err).toEqual({ type: 'invalid_request_error', code: 'request_too_large', message: 'request body exceeds 4194304 bytes', param: null });
    expect(await inFlight.rest()).toBeGreaterThan(0);
    await honestServes();
    honestSocketUntouched();
  });
});
