import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postToEngine, readText } from '../../nodes/agent/engine-http';
import { ApiError } from '../../nodes/engines/builtin/errors';
import { MAX_BODY_BYTES, readJsonBody } from '../../nodes/engines/builtin/read-body';

/** A server answering as the builtin engine does: 413 past the limit, else the body's size. */
let server: Server;
let url: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    readJsonBody(req).then(
      (body) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: Object.keys(body as object) })),
      (err: unknown) => res.writeHead(err instanceof ApiError ? 413 : 500).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('readJsonBody past its limit', () => {
  it('answers 413 after draining the body, so the next request on the kept-alive connection is answered', async () => {
    // The agent's own client (one keep-alive pool), as it talks to a builtin engine.
    const big = JSON.stringify({ pad: 'x'.repeat(MAX_BODY_BYTES + 1024 * 1024) });
    const tooLarge = await postToEngine(url, big, AbortSignal.timeout(5000));
    expect(tooLarge.status).toBe(413);
    await readText(tooLarge.body);
    const next = await postToEngine(url, JSON.stringify({ a: 1 }), AbortSignal.timeout(5000));
    expect(next.status).toBe(200);
    expect(JSON.parse(await readText(next.body))).toEqual({ keys: ['a'] });
  });
});
