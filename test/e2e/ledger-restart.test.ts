import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootStack, waitFor, waitForNode } from './support';

type Booted = Awaited<ReturnType<typeof bootStack>>;

describe('the usage ledger across a node link restart', () => {
  let stack: Booted;
  beforeAll(async () => {
    stack = await bootStack({
      persistDir: mkdtempSync(path.join(tmpdir(), 'porten-ledger-')),
      // Batches wait 10 minutes (or 4096 rows): every row below is still in the node link when the edge dies.
      vars: { PORTEN_BATCH_MS: '600000', PORTEN_BATCH_ROWS: '4096' },
      agents: [{ nodeId: 'ledger-node', budgetMb: 4096 }],
    });
    await waitForNode(stack, 'ledger-node');
  });
  afterAll(() => stack?.stop());

  it('counts every request once after the edge is killed mid-batch, in-flight ones included', async () => {
    const adminHeaders = { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' };
    const created = await fetch(`${stack.url}/admin/v1/keys`, { method: 'POST', headers: adminHeaders, body: JSON.stringify({ name: 'ledger' }) });
    const key = (await created.json()) as { id: string; key: string };
    const send = (stream: boolean, maxTokens = 6, model = 'demo-small') =>
      fetch(`${stack.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'count me' }], max_tokens: maxTokens, stream }),
      });
    const usage = async () => {
      const res = await fetch(`${stack.url}/admin/v1/usage?group_by=key`, { headers: adminHeaders });
      const rows = ((await res.json()) as { data: Array<{ key_id?: string; requests: number; completion_tokens: number }> }).data.filter(
        (r) => r.key_id === key.id,
      );
      return { requests: rows.reduce((n, r) => n + r.requests, 0), completion: rows.reduce((n, r) => n + r.completion_tokens, 0) };
    };

    const n = 12;
    let completion = 0;
    for (let i = 0; i < n; i++) {
      // The last one loads demo-large (~150 tokens/s here), whose long stream below is still running at the kill.
      const res = await send(i % 2 === 0, 6, i === n - 1 ? 'demo-large' : 'demo-small');
      expect(res.status).toBe(200);
      if (i % 2 === 0) await res.text();
      else completion += ((await res.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens;
    }
    // One more still streaming when the edge dies: read it for 300 ms first, past the 100 ms after which (on a
    // 100 ms timer) the node link writes a running request's row; a request younger than that is the documented gap.
    const startedAt = Date.now();
    const inflight = await send(true, 400, 'demo-large');
    const reader = inflight.body!.getReader();
    let chunk = await reader.read();
    while (!chunk.done && Date.now() - startedAt < 300) chunk = await reader.read();
    expect(chunk.done).toBe(false);
    // Mid-batch: the Hub has none of these rows yet.
    expect(await usage()).toEqual({ requests: 0, completion: 0 });

    await stack.restartEdge();
    await reader.read().catch(() => undefined);

    // The node link starts again when its node reconnects, closes the interrupted row, and sends everything.
    const after = await waitFor('the rows to reach the Hub', async () => {
      const u = await usage();
      return u.requests >= n + 1 ? u : null;
    });
    expect(after.requests).toBe(n + 1);
    expect(after.completion).toBeGreaterThanOrEqual(completion);
    const m = await (await fetch(`${stack.url}/metrics`, { headers: adminHeaders })).text();
    expect(m).toMatch(/^porten_ledger_open_rows 0$/m);
  });
});
