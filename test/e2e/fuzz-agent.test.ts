import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootStack, helloFrame, rawNodeSocket, waitFor, waitForNode } from './support';
import { CloseCode, MAX_FRAME_BYTES } from '../../src/protocol';
import { seeded } from '../support/random';

// Random and malformed frames on the agent socket: the edge answers or closes with a documented code,
// never crashes, and the real agent beside the rogue ones keeps serving.

let stack: Awaited<ReturnType<typeof bootStack>>;

beforeAll(async () => {
  stack = await bootStack({ agents: [{ nodeId: 'steady', budgetMb: 4096 }] });
  await waitForNode(stack, 'steady');
});

afterAll(async () => {
  await stack?.stop();
});

const { int, pick } = seeded(8628);
const TYPES = [
  'node.hello',
  'node.heartbeat',
  'node.inventory',
  'model.state',
  'infer.head',
  'infer.chunk',
  'infer.end',
  'infer.error',
  'error',
  'hub.load',
  'x',
];
const VALUES: unknown[] = [null, true, -1, 1e308, '', 'x'.repeat(300), [], {}, { a: [1] }, 'demo-small', 0, 2 ** 53 + 2];

function randomFrame(nodeId: string): string | Buffer {
  const kind = int(8);
  if (kind === 0) return Buffer.from(Array.from({ length: 1 + int(64) }, () => int(256)));
  if (kind === 1) return '{"type":"node.hello"'.slice(0, int(20));
  if (kind === 2) return JSON.stringify(pick(VALUES));
  const frame: Record<string, unknown> = kind === 3 ? { ...helloFrame(nodeId) } : { type: pick(TYPES) };
  for (let i = int(5); i > 0; i--)
    frame[pick(['id', 'seq', 'data', 'model', 'phase', 'chunks', 'usage', 'v', 'node_id', 'status', 'code', 'inflight'])] = pick(VALUES);
  return JSON.stringify(frame);
}

describe('fuzzing the agent socket', () => {
  it('survives random frames from many rogue sockets while a real node keeps serving', async () => {
    const closes: number[] = [];
    for (let s = 0; s < 6; s++) {
      const id = `rogue-${s}`;
      const rogue = rawNodeSocket(stack, id);
      await rogue.opened;
      // Half the rogues greet properly first, so the fuzz also reaches the post-hello handlers.
      if (s % 2 === 0) rogue.ws.send(JSON.stringify(helloFrame(id)));
      for (let i = 0; i < 40 && rogue.ws.readyState === rogue.ws.OPEN; i++) rogue.ws.send(randomFrame(id));
      rogue.ws.close();
      closes.push((await rogue.closed).code);
    }
    const documented = new Set<number>([1000, 1005, CloseCode.protocolViolation, CloseCode.unsupportedVersion, CloseCode.helloTimeout]);
    for (const code of closes) expect(documented.has(code), `close ${code}`).toBe(true);
    const res = await stack.openai.chat.completions.create({ model: 'demo-small', messages: [{ role: 'user', content: 'still serving?' }], max_tokens: 4 });
    expect(res.choices).toHaveLength(1);
  });

  it('closes a socket that sends a frame over MAX_FRAME_BYTES, and nothing else is affected', async () => {
    const rogue = rawNodeSocket(stack, 'rogue-big');
    await rogue.opened;
    rogue.ws.send(JSON.stringify(helloFrame('rogue-big')));
    await waitFor('welcome', () => rogue.frames.some((f) => f.type === 'hub.welcome'));
    rogue.ws.send(JSON.stringify({ type: 'node.heartbeat', inflight: 0, pad: 'x'.repeat(MAX_FRAME_BYTES + 16) }));
    const closed = await rogue.closed;
    // 4009 from the NodeLink; 1009 if the runtime's own message cap trips first. Either tells the agent why.
    expect([CloseCode.frameTooLarge, 1009]).toContain(closed.code);
    const res = await stack.openai.chat.completions.create({ model: 'demo-small', messages: [{ role: 'user', content: 'and now?' }], max_tokens: 4 });
    expect(res.choices).toHaveLength(1);
  });
});
