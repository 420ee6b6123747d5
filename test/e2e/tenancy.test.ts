import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { bootStack, rawNodeSocket, waitFor, waitForNode, helloFrame } from './support';
import { ROOT } from '../../scripts/stack';
import { CloseCode } from '../../src/protocol';
import { EXIT } from '../../nodes/agent/exit-codes';

let stack: Awaited<ReturnType<typeof bootStack>>;

beforeAll(async () => {
  // A one-second poll interval keeps the device flow quick; the agent still honours it.
  stack = await bootStack({ vars: { PORTEN_ENROLL_INTERVAL_S: '1' } });
});

afterAll(async () => {
  await stack?.stop();
});

async function admin<T = Record<string, unknown>>(method: string, p: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${stack.url}/admin/v1${p}`, {
    method,
    headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

async function chat(key: string, model = 'demo-small') {
  const res = await fetch(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('regions', () => {
  it('never routes a region-pinned key to an out-of-region node, even when that node is warm', async () => {
    const eu = await admin<{ node_key: string }>('POST', '/nodes', { node_id: 'node-eu', region: 'eu', trust: 'verified' });
    const us = await admin<{ node_key: string }>('POST', '/nodes', { node_id: 'node-us', region: 'us', trust: 'verified' });
    expect([eu.status, us.status]).toEqual([201, 201]);
    stack.startAgent({ nodeId: 'node-eu', nodeKey: eu.body.node_key, budgetMb: 4096 });
    stack.startAgent({ nodeId: 'node-us', nodeKey: us.body.node_key, budgetMb: 4096 });
    await waitForNode(stack, 'node-eu');
    await waitForNode(stack, 'node-us');
    const usKey = (await admin<{ key: string; id: string }>('POST', '/keys', { name: 'us', regions: ['us'] })).body;
    const euKey = (await admin<{ key: string; id: string }>('POST', '/keys', { name: 'eu', regions: ['eu'] })).body;

    // Warm demo-small on the US node first, so a region-blind router would pick it.
    expect((await chat(usKey.key)).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await chat(euKey.key)).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await chat(usKey.key)).status).toBe(200);

    const usage = await waitFor('ledger rows closed', async () => {
      const r = await admin<{ data: Array<{ key_id: string; node_id: string; requests: number; completion_tokens: number }> }>(
        'GET',
        '/usage?group_by=key,node&bucket=day',
      );
      const mine = r.body.data.filter((row) => row.key_id === euKey.id || row.key_id === usKey.id);
      return mine.reduce((s, row) => s + row.completion_tokens, 0) > 0 && mine.length >= 2 ? mine : null;
    });
    expect(usage.filter((r) => r.key_id === euKey.id).map((r) => r.node_id)).toEqual(['node-eu']);
    expect(usage.filter((r) => r.key_id === usKey.id).map((r) => r.node_id)).toEqual(['node-us']);
    expect(usage.find((r) => r.key_id === euKey.id)!.requests).toBe(4);
  });

  it('refuses a node key presented under another node id, and a hello naming another node', async () => {
    const extra = await admin<{ node_key: string }>('POST', '/nodes', { node_id: 'node-x', region: 'us' });
    const forged = rawNodeSocket(stack, 'node-eu', extra.body.node_key);
    await expect(forged.opened).rejects.toThrow(/403/);
    // Without a header the key names its node; a hello claiming another id is closed.
    const { default: WebSocket } = await import('ws');
    const ws = new WebSocket(`${stack.url.replace(/^http/, 'ws')}/agent/v1/connect`, { headers: { authorization: `Bearer ${extra.body.node_key}` } });
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send(JSON.stringify(helloFrame('node-eu')));
    expect(await closed).toBe(CloseCode.protocolViolation);
    await waitForNode(stack, 'node-eu');
  });
});

describe('enrollment by browser approval', () => {
  it('enrolls with `porten login`, serves with the stored credentials, and exits 3 (refused, not restarted) when revoked', async () => {
    const credentials = path.join(stack.workDir, 'creds', 'credentials.json');
    const login = spawn(process.execPath, [path.join(ROOT, 'nodes', 'bin', 'porten.js'), 'login', '--edge', stack.url, '--credentials', credentials], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    login.stdout.on('data', (b: Buffer) => (out += b.toString()));
    login.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((resolve) => login.once('exit', (code) => resolve(code)));
    const userCode = await waitFor('the user code on stdout', () => /code: ([A-Z]{4}-[A-Z]{4})/.exec(out)?.[1]);
    expect(out).toContain(`${stack.url}/dashboard#enroll=${userCode}`);

    const pending = await admin<{ data: Array<{ user_code: string; status: string }> }>('GET', '/enrollments');
    expect(pending.body.data.find((e) => e.user_code === userCode)).toMatchObject({ status: 'pending' });
    const approved = await admin('POST', `/enrollments/${userCode}/approve`, { node_id: 'enrolled-1', region: 'eu', trust: 'trusted' });
    expect(approved.body).toEqual({ user_code: userCode, status: 'approved' });
    expect(await exited).toBe(0);
    expect(statSync(credentials).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(credentials, 'utf8')) as Record<string, string>;
    expect(stored).toEqual({ edge: stack.url, node_id: 'enrolled-1', node_key: expect.stringMatching(/^nk-porten-/) });

    const agent = stack.startAgent({ nodeId: 'enrolled-1', credentials, budgetMb: 4096 });
    await waitForNode(stack, 'enrolled-1');
    const nodes = await admin<{ data: Array<Record<string, unknown>> }>('GET', '/nodes');
    expect(nodes.body.data.find((n) => n.id === 'enrolled-1')).toMatchObject({ online: true, region: 'eu', trust: 'trusted', revoked: false });

    expect((await admin('DELETE', '/nodes/enrolled-1')).body).toEqual({ id: 'enrolled-1', revoked: true });
    // Its own exit code, which the systemd unit lists in RestartPreventExitStatus: a revoked node stays down.
    expect(await agent.exited).toBe(EXIT.refused);
    expect(agent.output.join('\n')).toMatch(/4004.*revoked/);
    const after = await admin<{ data: Array<Record<string, unknown>> }>('GET', '/nodes');
    expect(after.body.data.find((n) => n.id === 'enrolled-1')).toMatchObject({ online: false, revoked: true, models: [] });
    // The stored key is dead: the edge refuses it before upgrading.
    await expect(rawNodeSocket(stack, 'enrolled-1', stored.node_key).opened).rejects.toThrow(/401/);
  });
});

describe('concurrency per key', () => {
  it('refuses a second request while a max_inflight 1 key streams, counting the stream until its last byte', async () => {
    const node = await admin<{ node_key: string }>('POST', '/nodes', { node_id: 'node-conc', owner: 'conc', trust: 'verified' });
    stack.startAgent({ nodeId: 'node-conc', nodeKey: node.body.node_key, budgetMb: 4096 });
    await waitForNode(stack, 'node-conc');
    const { key } = (await admin<{ key: string }>('POST', '/keys', { name: 'one-stream', owner: 'conc', max_inflight: 1 })).body;
    expect((await chat(key)).status).toBe(200);

    const res = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'demo-small', messages: [{ role: 'user', content: 'a long one' }], max_tokens: 200, stream: true }),
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    // Headers and the first chunk are out: the stream still counts.
    expect((await reader.read()).done).toBe(false);
    const refused = await chat(key);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ error: { code: 'rate_limited', message: 'Concurrency limit reached: 1 requests in flight for this API key.' } });

    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    expect(text).toContain('data: [DONE]');
    // The stream ended: the key may start another at once.
    expect((await chat(key)).status).toBe(200);
  });
});
