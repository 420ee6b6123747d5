import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootStack, waitFor, waitForNode } from './support';

/**
 * What a catalog entry (the operator's, or whoever holds the admin token)
 * can make a real node agent do, and what the agent gives away: it fronts no
 * upstream its owner did not allow, and its failures reach clients and the
 * public warming view without credentials, signatures, addresses or paths —
 * which stay, redacted, in the node's own log. Its key is on no command line.
 */
let stack: Awaited<ReturnType<typeof bootStack>>;
/** A stand-in for a service on the node owner's network (a vLLM here): it records every request it gets. */
let internal: http.Server;
let internalUrl: string;
const hits: string[] = [];

beforeAll(async () => {
  internal = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/v1/models') return res.end(JSON.stringify({ object: 'list', data: [{ id: 'internal', object: 'model' }] }));
      res.end(
        JSON.stringify({
          id: 'chatcmpl-internal',
          object: 'chat.completion',
          created: 0,
          model: 'internal',
          choices: [{ index: 0, message: { role: 'assistant', content: 'from the internal service' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => internal.listen(0, '127.0.0.1', resolve));
  internalUrl = `http://127.0.0.1:${(internal.address() as AddressInfo).port}`;
  stack = await bootStack({ agents: [{ nodeId: 'owner-node', budgetMb: 4096 }] });
  await waitForNode(stack, 'owner-node');
});
afterAll(async () => {
  await stack?.stop();
  await new Promise((resolve) => internal?.close(resolve));
});

async function putModel(entry: Record<string, unknown>) {
  const res = await fetch(`${stack.url}/admin/v1/models`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ enabled: true, context_length: 512, capabilities: ['chat'], vram_mb: 8, ...entry }),
  });
  expect(res.status).toBe(201);
}

const ask = (model: string) =>
  stack.openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }).then(
    (r) => r,
    (e: unknown) => e as APIError,
  );

describe('a catalog upstream_url pointing at a service on the node owner’s network', () => {
  it('is refused by a node whose owner did not allow it, and the service is never contacted', async () => {
    await putModel({ id: 'steered', engine: 'openai', weights: { url: 'none://' }, upstream_url: `${internalUrl}/v1` });
    const err = await ask('steered');
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).status).toBe(502);
    expect((err as APIError).message).toContain('did not allow');
    expect((err as APIError).message).not.toContain(internalUrl);
    expect(hits).toEqual([]);
    // The honest path is undisturbed.
    expect(await ask('demo-small')).toMatchObject({ choices: [{ message: { role: 'assistant' } }] });
  });

  it('is served by a node whose owner allow-listed it (--openai-upstream-allow)', async () => {
    await stack.agents[0].kill();
    stack.startAgent({ nodeId: 'fronting-node', budgetMb: 4096, env: { PORTEN_OPENAI_UPSTREAM_ALLOW: internalUrl } });
    await waitForNode(stack, 'fronting-node');
    const answer = await ask('steered');
    expect(answer).toMatchObject({ choices: [{ message: { content: 'from the internal service' } }] });
    expect(hits).toContain('POST /v1/chat/completions');
  });
});

describe('a weights URL with credentials and a signature', () => {
  it('fails without showing them to the client or the warming view; the node’s log keeps the detail, redacted', async () => {
    const origin = new URL(stack.origin.url);
    const url = `http://ada:hunter2@${origin.host}/missing.gguf?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIAEXAMPLE`;
    await putModel({ id: 'leaky-url', engine: 'builtin', weights: { url, bytes: 1234 } });
    const err = await ask('leaky-url');
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).status).toBe(502);
    const warm = await (await fetch(`${stack.url}/public/v1/models/warming?model=leaky-url`)).text();
    for (const text of [(err as APIError).message, warm]) {
      expect(text).toContain('[url]');
      for (const secret of ['ada', 'hunter2', 'deadbeef', 'AKIAEXAMPLE', origin.host, origin.hostname, stack.workDir]) expect(text).not.toContain(secret);
    }
    const agent = stack.agents.at(-1)!;
    const log = await waitFor('the failure in the node’s log', () => agent.output.find((l) => l.includes('load failed') && l.includes('leaky-url')));
    // The owner still sees which file on which host failed (the redaction marks may differ: `[redacted]`, `…`).
    expect(log).toContain(`${origin.host}/missing.gguf`);
    for (const secret of ['hunter2', 'deadbeef', 'AKIAEXAMPLE']) expect(agent.output.join('\n')).not.toContain(secret);
  });
});

describe('node keys', () => {
  it('are on no command line and in no engine’s environment, and never in the agent’s log', async () => {
    const agent = stack.agents.at(-1)!;
    expect(await ask('demo-small')).toMatchObject({ choices: [{ message: { role: 'assistant' } }] });
    const cmdline = readFileSync(`/proc/${agent.child.pid}/cmdline`, 'utf8');
    expect(cmdline).not.toContain(stack.nodeKey);
    expect(cmdline).not.toContain('--node-key');
    const engines = execFileSync('ps', ['--ppid', String(agent.child.pid), '-o', 'pid='], { encoding: 'utf8' })
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    expect(engines.length).toBeGreaterThan(0);
    for (const pid of engines) {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      expect(environ).not.toContain('PORTEN_NODE_KEY=');
      expect(environ).not.toContain(stack.nodeKey);
    }
    expect(agent.output.join('\n')).not.toContain(stack.nodeKey);
  });
});
