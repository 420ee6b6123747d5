import { describe, expect, it } from 'vitest';
import { hotFrame, NodeToEdgeSchema, parseFrame, parseNodeFrame } from '../../src/protocol';
import { seeded } from '../support/random';

/**
 * The NodeLink's hand-written check of its hot frames must accept exactly what
 * NodeToEdgeSchema accepts and return exactly what zod returns. Every case here
 * is run through both: hotFrame against zod on the decoded value, and
 * parseNodeFrame against parseFrame on the raw text (errors included).
 */

const BIG = 'x'.repeat(1 << 20);

/** Values a hostile or broken node might put in any field. */
const HOSTILE: unknown[] = [
  null,
  true,
  false,
  0,
  -0,
  1,
  -1,
  1.5,
  -1.5,
  99,
  100,
  101,
  199,
  200,
  599,
  600,
  1e300,
  -1e300,
  86_400_000,
  86_400_000.5,
  86_400_001,
  2 ** 31,
  2 ** 53 - 1,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  '',
  '0',
  '1',
  'x',
  'infer.chunk',
  'x'.repeat(128),
  'x'.repeat(129),
  '😀'.repeat(64),
  '😀'.repeat(65),
  // zod counts code points, not UTF-16 units: pairs, lone and reversed surrogates around each bound.
  `${'x'.repeat(127)}😀`,
  `${'x'.repeat(128)}😀`,
  `😀${'x'.repeat(127)}`,
  '😀'.repeat(100),
  '😀'.repeat(128),
  '😀'.repeat(129),
  '😀'.repeat(200),
  '😀'.repeat(201),
  '\uD800'.repeat(129),
  '\uDC00\uD800'.repeat(65),
  `${'\uD800'.repeat(127)}😀`,
  '\uD800',
  'x'.repeat(200),
  'x'.repeat(201),
  BIG,
  [],
  [1],
  ['x'],
  {},
  { a: 1 },
  { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
  { ttft_ms: 1, total_ms: 2 },
];

const VALID: Record<string, Record<string, unknown>> = {
  'infer.accepted': { type: 'infer.accepted', id: 'r1' },
  'infer.head': { type: 'infer.head', id: 'r1', status: 200, content_type: 'text/event-stream' },
  'infer.chunk': { type: 'infer.chunk', id: 'r1', seq: 3, data: 'data: {"x":1}\n\n' },
  'infer.end': {
    type: 'infer.end',
    id: 'r1',
    chunks: 4,
    usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
    timings: { ttft_ms: 0.25, total_ms: 12.5 },
  },
};

/** Raw texts JSON cannot build from a value: numbers past double range, duplicate and prototype-named keys. */
const RAW: string[] = [
  '{"type":"infer.chunk","id":"r1","seq":1e400,"data":"x"}',
  '{"type":"infer.chunk","id":"r1","seq":-1e400,"data":"x"}',
  '{"type":"infer.end","id":"r1","chunks":0,"timings":{"ttft_ms":1e400,"total_ms":0}}',
  '{"type":"infer.chunk","id":"r1","seq":0,"data":"x","data":5}',
  '{"type":"infer.chunk","id":"r1","seq":0,"data":5,"data":"x"}',
  '{"type":"infer.chunk","id":"r1","id":"","seq":0,"data":"x"}',
  '{"type":"infer.accepted","id":"r1","__proto__":{"id":"x"}}',
  '{"__proto__":{"type":"infer.accepted","id":"r1"}}',
  '{"type":"infer.end","id":"r1","chunks":0,"usage":{"__proto__":{"prompt_tokens":1},"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}',
  '{"type":"infer.end","id":"r1","chunks":0,"constructor":1,"toString":2}',
  '{"type":"infer.head","id":"r1","status":200.0,"content_type":""}',
  '{"type":"infer.head","id":"r1","status":2e2,"content_type":""}',
  '{"type":"infer.chunk","id":"r1","seq":-0,"data":""}',
  '{"type":"infer.chunk","id":"r1","seq":0.0000000000000001,"data":""}',
  '[{"type":"infer.accepted","id":"r1"}]',
  'null',
  '"infer.accepted"',
  '42',
  '{}',
  '{"type":null,"id":"r1"}',
  '{"type":"INFER.ACCEPTED","id":"r1"}',
  '{"type":"infer.accepted ","id":"r1"}',
  '{"type":"infer.error","id":"r1","code":"busy","message":"full"}',
  '{"type":"infer.error","id":"r1","code":"nope","message":"full"}',
  '{"type":"node.heartbeat","inflight":1}',
  '{"type":"node.ping"}',
  '{"type":"error","code":"bad_frame","message":"x"}',
];

/** Checks one raw frame both ways; returns whether the fast path took it (so each suite can show it saw both outcomes). */
function agree(raw: string): boolean {
  const value: unknown = JSON.parse(raw);
  const zod = NodeToEdgeSchema.safeParse(value);
  const hot = hotFrame(value);
  const type = (value as { type?: unknown } | null)?.type;
  if (typeof type === 'string' && type in VALID) {
    // A hot type: the hand-written check decides alone, so it must decide as zod does.
    expect(hot === null, raw.slice(0, 300)).toBe(!zod.success);
  } else {
    expect(hot, raw.slice(0, 300)).toBeNull();
  }
  if (hot) expect(hot).toStrictEqual(zod.data);
  // The NodeLink's entry point answers exactly as the generic one does, errors and echoed ids included.
  expect(parseNodeFrame(raw)).toStrictEqual(parseFrame(NodeToEdgeSchema, raw));
  return hot !== null;
}

function variants(base: Record<string, unknown>): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [base];
  const keys = [...Object.keys(base), 'extra', 'usage', 'timings'];
  for (const key of keys) {
    const { [key]: _, ...without } = base;
    out.push(without);
    for (const v of HOSTILE) out.push({ ...base, [key]: v });
  }
  for (const nested of ['usage', 'timings'] as const) {
    const inner = (VALID['infer.end'][nested] as Record<string, unknown>) ?? {};
    for (const key of [...Object.keys(inner), 'extra']) {
      const { [key]: _, ...without } = inner;
      out.push({ ...base, [nested]: without });
      for (const v of HOSTILE) out.push({ ...base, [nested]: { ...inner, [key]: v } });
    }
  }
  return out;
}

describe('hot frame validation', () => {
  for (const [type, base] of Object.entries(VALID)) {
    it(`${type}: accepts and rejects exactly as the zod schema, field by field`, () => {
      const cases = variants(base);
      expect(cases.length).toBeGreaterThan(200);
      const taken = cases.filter((c) => agree(JSON.stringify(c))).length;
      expect(taken).toBeGreaterThan(20);
      expect(cases.length - taken).toBeGreaterThan(20);
    });
  }

  it('takes the valid hot frames on the fast path, with unknown keys dropped as zod drops them', () => {
    for (const base of Object.values(VALID)) {
      const withExtra = { ...base, huge: BIG, nested: { deep: [1, 2, 3] } };
      const hot = hotFrame(JSON.parse(JSON.stringify(withExtra)));
      expect(hot).toStrictEqual(base);
      expect(hot).toStrictEqual(NodeToEdgeSchema.parse(withExtra));
    }
    // A valid hot frame with its optional parts absent.
    expect(hotFrame({ type: 'infer.end', id: 'r1', chunks: 0 })).toStrictEqual({ type: 'infer.end', id: 'r1', chunks: 0 });
  });

  it('agrees with zod on texts a value cannot produce: out-of-range numbers, duplicate and prototype keys, other types', () => {
    for (const raw of RAW) agree(raw);
  });

  it('refuses what zod refuses on values JSON cannot carry (NaN, infinities)', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      for (const frame of [
        { type: 'infer.chunk', id: 'r1', seq: bad, data: '' },
        { type: 'infer.head', id: 'r1', status: bad, content_type: '' },
        { type: 'infer.end', id: 'r1', chunks: bad },
        { type: 'infer.end', id: 'r1', chunks: 0, timings: { ttft_ms: bad, total_ms: 0 } },
        { type: 'infer.end', id: 'r1', chunks: 0, usage: { prompt_tokens: bad, completion_tokens: 0, total_tokens: 0 } },
      ]) {
        expect(NodeToEdgeSchema.safeParse(frame).success).toBe(false);
        expect(hotFrame(frame)).toBeNull();
      }
    }
  });

  it('keeps the edge’s envelope errors: binary, oversized and non-JSON frames', () => {
    for (const raw of [new ArrayBuffer(4), '{nope', '', 'x'.repeat(4 * 1024 * 1024 + 1)]) {
      expect(parseNodeFrame(raw)).toStrictEqual(parseFrame(NodeToEdgeSchema, raw));
      expect(parseNodeFrame(raw).ok).toBe(false);
    }
  });

  it('agrees with zod on random frames built from hostile parts (seeded)', () => {
    const { pick, int, rand } = seeded(13);
    const types = [...Object.keys(VALID), 'infer.error', 'node.heartbeat', 'x'];
    const fields = ['type', 'id', 'seq', 'data', 'status', 'content_type', 'chunks', 'usage', 'timings', 'code', 'message', 'inflight'];
    const valueFor = (field: string): unknown => {
      const base = VALID['infer.end'] as Record<string, unknown>;
      if (rand() < 0.5) {
        if (field === 'usage' || field === 'timings') {
          const inner = { ...(base[field] as Record<string, unknown>) };
          if (rand() < 0.5) inner[pick(Object.keys(inner))] = pick(HOSTILE);
          return inner;
        }
        const sample = Object.values(VALID).find((v) => field in v);
        if (sample) return sample[field];
      }
      return pick(HOSTILE.filter((h) => h !== BIG));
    };
    let taken = 0;
    for (let i = 0; i < 5000; i++) {
      const frame: Record<string, unknown> = { type: pick(types) };
      for (const f of fields) if (f !== 'type' && rand() < 0.6) frame[f] = valueFor(f);
      if (rand() < 0.1) frame.type = pick(HOSTILE);
      if (int(20) === 0) delete frame.type;
      if (agree(JSON.stringify(frame))) taken++;
    }
    expect(taken).toBeGreaterThan(100);
  });
});
