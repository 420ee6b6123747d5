import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import OpenAI, { APIConnectionError, AuthenticationError, NotFoundError } from 'openai';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/stack';
import { bootStack, waitFor, waitForNode } from './support';

/**
 * Hand-written hostile and careless clients against the real edge on
 * workerd: early answers on kept-alive connections, floods of
 * unauthenticated work from one address, token guessing, cross-origin calls,
 * replayed tickets. Each is refused (or survived) while other clients keep
 * working.
 */
let stack: Awaited<ReturnType<typeof bootStack>>;

beforeAll(async () => {
  stack = await bootStack({
    agents: [{ nodeId: 'client-node', budgetMb: 4096 }],
    vars: { PORTEN_CORS_ORIGINS: 'https://app.example', PORTEN_ENROLL_INTERVAL_S: '1' },
  });
  await waitForNode(stack, 'client-node');
});
afterAll(async () => stack?.stop());

interface Answer {
  status: number;
  reused: boolean;
  body: string;
}

/** One request on `agent` (keep-alive, one socket), the body written in full whatever the edge answers. */
function send(agent: http.Agent, method: string, p: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  const u = new URL(stack.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        method,
        path: p,
        agent,
        headers: { ...headers, ...(body !== undefined ? { 'content-length': Buffer.byteLength(body) } : {}) },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

describe('early answers on a kept-alive connection', () => {
  const big = JSON.stringify({ model: 'demo-small', messages: [{ role: 'user', content: 'x'.repeat(256 * 1024) }] });
  const json = { 'content-type': 'application/json' };

  it('raw http.Agent: 40 requests each after an early 401, zero connection errors, the socket reused', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const good = { authorization: `Bearer ${stack.apiKey}` };
    const errors: string[] = [];
    let reused = 0;
    for (let i = 0; i < 40; i++) {
      try {
        const early = await send(agent, 'POST', '/v1/chat/completions', { ...json, authorization: 'Bearer wrong' }, big);
        expect(early.status).toBe(401);
        const next = await send(agent, 'GET', '/v1/models', good);
        expect(next.status).toBe(200);
        if (early.reused && next.reused) reused++;
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    agent.destroy();
    expect(errors).toEqual([]);
    // Every pair after the first ran on the one kept-alive socket.
    expect(reused).toBeGreaterThanOrEqual(39);
  });

  it.each([
    ['404 for an unknown route', 'POST', '/v1/responses', 404, big],
    ['405 for a wrong method', 'PUT', '/v1/chat/completions', 405, big],
    [
      '413 for a body over the limit',
      'POST',
      '/v1/chat/completions',
      413,
      JSON.stringify({ model: 'demo-small', messages: [{ role: 'user', content: 'x'.repeat(9 * 1024 * 1024) }] }),
    ],
  ])('raw http.Agent: %s keeps the connection usable', async (_name, method, p, status, body) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const good = { authorization: `Bearer ${stack.apiKey}` };
    for (let i = 0; i < 5; i++) {
      const early = await send(agent, method, p, { ...json, ...good }, body);
      expect(early.status).toBe(status);
      const next = await send(agent, 'GET', '/v1/models', good);
      expect(next).toMatchObject({ status: 200, reused: true });
    }
    agent.destroy();
  });

  it('openai client: 40 requests each after an early 401 (and after a 404 for /v1/responses), zero connection errors', async () => {
    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: stack.apiKey, maxRetries: 0, timeout: 60_000 });
    const connectionErrors: unknown[] = [];
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) {
      const early = await client.chat.completions
        .create({ model: 'demo-small', messages: [{ role: 'user', content: 'x'.repeat(64 * 1024) }] }, { headers: { Authorization: 'Bearer wrong' } })
        .then(
          () => null,
          (e: unknown) => e,
        );
      if (early instanceof APIConnectionError) connectionErrors.push(early);
      expect(early).toBeInstanceOf(AuthenticationError);
      let next: Awaited<ReturnType<typeof client.models.list>> | null = null;
      try {
        next = await client.models.list();
        statuses.push(200);
      } catch (e) {
        if (e instanceof APIConnectionError) connectionErrors.push(e);
      }
      expect(next?.data.length).toBeGreaterThan(0);
    }
    const missing = await client.responses.create({ model: 'demo-small', input: 'hi' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(missing).toBeInstanceOf(NotFoundError);
    const after = await client.chat.completions.create({ model: 'demo-small', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
    expect(after.choices[0].message.role).toBe('assistant');
    expect(connectionErrors).toEqual([]);
    expect(statuses).toHaveLength(40);
  });
});

describe('floods of unauthenticated work from one address', () => {
  const from = (ip: string) => ({ 'cf-connecting-ip': ip, 'content-type': 'application/json' });

  it('64 enrollment starts no longer lock out enrollment: the flooder is refused, `porten login` elsewhere enrolls', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 64; i++) {
      statuses.push((await fetch(`${stack.url}/agent/v1/enroll`, { method: 'POST', headers: from('203.0.113.66'), body: '{}' })).status);
    }
    expect(statuses).toEqual([200, 200, 200, ...Array(61).fill(429)]);

    const credentials = path.join(stack.workDir, 'flood-creds', 'credentials.json');
    const login = spawn(process.execPath, [path.join(ROOT, 'nodes', 'bin', 'porten.js'), 'login', '--edge', stack.url, '--credentials', credentials], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    login.stdout.on('data', (b: Buffer) => (out += b.toString()));
    login.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((resolve) => login.once('exit', (code) => resolve(code)));
    const userCode = await waitFor('the user code', () => /code: ([A-Z]{4}-[A-Z]{4})/.exec(out)?.[1]);
    const approved = await fetch(`${stack.url}/admin/v1/enrollments/${userCode}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ node_id: 'after-flood' }),
    });
    expect(approved.status).toBe(200);
    expect(await exited).toBe(0);
  });

  /** `n` requests at once: buckets refill with time, so only a burst sent together measures a budget, whatever the load. */
  const burst = (n: number, send: () => Promise<Response>) =>
    Promise.all(
      Array.from({ length: n }, async () => {
        const res = await send();
        await res.arrayBuffer();
        return res.status;
      }),
    );
  const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

  it('token guessing on the admin API locks out only the guessing address, right token included', async () => {
    const guess = (token: string, ip?: string) =>
      fetch(`${stack.url}/admin/v1/nodes`, { headers: { authorization: `Bearer ${token}`, ...(ip ? { 'cf-connecting-ip': ip } : {}) } });
    const statuses = await burst(20, () => guess(`guess-${Math.random()}-${'x'.repeat(32)}`, '203.0.113.77'));
    expect(count(statuses, 401)).toBeGreaterThanOrEqual(10);
    expect(count(statuses, 429)).toBeGreaterThan(0);
    const locked = await guess(stack.adminToken, '203.0.113.77');
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await guess(stack.adminToken, '203.0.113.78')).status).toBe(200);
    expect((await guess(stack.adminToken)).status).toBe(200);
  });

  it('a warming-view flood is refused for its address while other viewers and the API carry on', async () => {
    // The budget refills at 4/s: bursts of 200 until one is refused (the first one is, unless the machine serves < 4 req/s).
    const statuses: number[] = [];
    for (let i = 0; i < 5 && count(statuses, 429) === 0; i++) {
      statuses.push(...(await burst(200, () => fetch(`${stack.url}/public/v1/models/warming?model=demo-small`, { headers: from('203.0.113.88') }))));
    }
    expect(count(statuses, 200)).toBeGreaterThanOrEqual(60);
    expect(count(statuses, 429)).toBeGreaterThan(0);
    expect(count(statuses, 200) + count(statuses, 429)).toBe(statuses.length);
    expect((await fetch(`${stack.url}/public/v1/models/warming?model=demo-small`, { headers: from('203.0.113.89') })).status).toBe(200);
    const r = await stack.openai.chat.completions.create({ model: 'demo-small', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
    expect(r.choices[0].message.role).toBe('assistant');
  });
});

describe('browsers on other origins', () => {
  it('may call /v1 from an allowed origin (preflight as the openai SDK sends it), never /admin, never from another origin', async () => {
    const pre = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,x-stainless-lang,x-stainless-retry-count',
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(pre.headers.get('access-control-allow-headers')).toContain('authorization');
    const chat = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { origin: 'https://app.example', authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'demo-small', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }),
    });
    expect(chat.status).toBe(200);
    expect(chat.headers.get('access-control-allow-origin')).toBe('https://app.example');
    const other = await fetch(`${stack.url}/v1/models`, { headers: { origin: 'https://evil.example', authorization: `Bearer ${stack.apiKey}` } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const adminPre = await fetch(`${stack.url}/admin/v1/keys`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' },
    });
    expect(adminPre.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('dashboard live tickets', () => {
  it('cannot be replayed', async () => {
    const res = await fetch(`${stack.url}/admin/v1/live-ticket`, { method: 'POST', headers: { authorization: `Bearer ${stack.adminToken}` } });
    expect(res.headers.get('cache-control')).toBe('no-store');
    const { ticket } = (await res.json()) as { ticket: string };
    const url = `${stack.url.replace(/^http/, 'ws')}/admin/v1/live?ticket=${encodeURIComponent(ticket)}`;
    const first = new WebSocket(url);
    const hello = await new Promise<string>((resolve, reject) => {
      first.once('message', (d) => resolve(String(d)));
      first.once('error', reject);
    });
    expect(JSON.parse(hello)).toMatchObject({ type: 'hello' });
    const replay = new WebSocket(url);
    await expect(
      new Promise((resolve, reject) => {
        replay.once('open', resolve);
        replay.once('error', reject);
      }),
    ).rejects.toThrow(/401/);
    expect(first.readyState).toBe(WebSocket.OPEN);
    first.close();
  });
});
