import { describe, expect, it } from 'vitest';
import { EdgeToNodeSchema, NodeToEdgeSchema, PROTOCOL_VERSION, isFinalClose, CloseCode, parseFrame } from '../../src/protocol';

describe('protocol frames', () => {
  it('accepts a well-formed hello', () => {
    const r = parseFrame(
      NodeToEdgeSchema,
      JSON.stringify({
        type: 'node.hello',
        v: PROTOCOL_VERSION,
        node_id: 'n1',
        agent_version: '0.1.0',
        vram_budget_mb: 1024,
        engines: ['builtin'],
        max_concurrency: 4,
        loaded: [],
        inventory: [],
      }),
    );
    expect(r.ok).toBe(true);
  });

  it('names the offending field of an invalid frame and echoes its id', () => {
    const r = parseFrame(NodeToEdgeSchema, JSON.stringify({ type: 'infer.chunk', id: 'r1', seq: -1, data: 'x' }));
    expect(r).toEqual({ ok: false, id: 'r1', message: expect.stringContaining('seq') });
  });

  it('rejects non-JSON, binary and unknown types without throwing', () => {
    expect(parseFrame(NodeToEdgeSchema, '{nope').ok).toBe(false);
    expect(parseFrame(NodeToEdgeSchema, new ArrayBuffer(4)).ok).toBe(false);
    const unknown = parseFrame(EdgeToNodeSchema, JSON.stringify({ type: 'hub.explode' }));
    expect(unknown).toMatchObject({ ok: false, message: expect.stringContaining('type') });
  });

  it('treats auth, version and revocation closes as final and the rest as retryable', () => {
    expect(isFinalClose(CloseCode.unauthorized)).toBe(true);
    expect(isFinalClose(CloseCode.unsupportedVersion)).toBe(true);
    expect(isFinalClose(CloseCode.revoked)).toBe(true);
    expect(isFinalClose(CloseCode.replaced)).toBe(false);
    expect(isFinalClose(1006)).toBe(false);
  });
});
