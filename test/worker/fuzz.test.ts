import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { seeded } from '../support/random';

// Property test: random and malformed requests at every public endpoint never produce a 500 or a hang,
// and every 4xx/5xx is an OpenAI-shaped error. No node is connected here, so valid requests end at 503.

const worker = (exports as unknown as { default: { fetch: typeof fetch } }).default;
const CASES = 300;

const { rand, int, pick } = seeded(20240611);

const STRANGE: unknown[] = [null, true, false, 0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 2, '', 'x', '\u0000', '\ud800', 'demo-small', [], {}, [1, 'a'], { a: 1 }];

function randomValue(depth = 0): unknown {
  const r = int(depth > 3 ? 3 : 6);
  if (r === 0) return pick(STRANGE);
  if (r === 1) return rand() < 0.5 ? int(1e6) - 5e5 : rand() * 1e12;
  if (r === 2) return Array.from({ length: int(6) }, () => String.fromCharCode(int(0x3000))).join('');
  if (r === 3) return Array.from({ length: int(4) }, () => randomValue(depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = int(4); i > 0; i--) o[pick(['model', 'messages', 'input', 'prompt', 'tools', 'role', 'content', 'type', 'x'])] = randomValue(depth + 1);
  return o;
}

const VALID: Record<string, Record<string, unknown>> = {
  '/v1/chat/completions': { model: 'demo-small', messages: [{ role: 'user', content: 'hi' }] },
  '/v1/completions': { model: 'demo-small', prompt: 'hi' },
  '/v1/embeddings': { model: 'demo-embed', input: 'hi' },
};
const FIELDS = [
  'model',
  'messages',
  'prompt',
  'input',
  'stream',
  'stream_options',
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'stop',
  'seed',
  'presence_penalty',
  'frequency_penalty',
  'logit_bias',
  'n',
  'response_format',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'encoding_format',
  'dimensions',
  'user',
];

function nested(depth: number): string {
  return `{"model":"demo-small","messages":${'['.repeat(depth)}${']'.repeat(depth)}}`;
}

/** One malformed body for a POST endpoint: a mutated valid body, a random value, broken bytes, or deep nesting. */
function randomBody(path: string): BodyInit {
  const kind = int(7);
  if (kind === 0) return JSON.stringify(randomValue());
  if (kind === 1) return '';
  if (kind === 2) return new Uint8Array(Array.from({ length: 1 + int(40) }, () => int(256)));
  if (kind === 3) return nested(pick([10, 100, 5000, 50_000]));
  if (kind === 4) return JSON.stringify(VALID[path]).slice(0, int(30));
  const body: Record<string, unknown> = { ...VALID[path] };
  for (let i = 1 + int(3); i > 0; i--) body[pick(FIELDS)] = randomValue();
  if (kind === 5) return JSON.stringify(body);
  // Invalid UTF-8 spliced into an otherwise valid body.
  const bytes = new TextEncoder().encode(JSON.stringify(body));
  const at = int(bytes.length);
  return new Uint8Array([...bytes.slice(0, at), 0xff, 0xc3, 0x28, ...bytes.slice(at)]);
}

function randomRequest(i: number): Request {
  const post = Object.keys(VALID);
  // Raw, possibly broken percent-encodings: the router must cope with what a client can put on the wire.
  const segment = pick(['x', '%FF', '%', '%E2%82', '..', 'demo-small', 'a%2Fb', '%00', 'x'.repeat(300), '%F0%9F%98%80']);
  const get = ['/v1/models', '/v1/models/x', `/v1/models/${segment}`, '/public/v1/models/warming', `/public/v1/models/warming?model=${segment}`];
  const contentType = pick(['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '']);
  const headers: Record<string, string> = { authorization: i % 17 === 0 ? 'Bearer wrong' : 'Bearer sk-test-key-of-the-worker-suite-0123456' };
  if (contentType) headers['content-type'] = contentType;
  if (rand() < 0.7) {
    const path = pick(post);
    return new Request(`https://edge.test${path}`, { method: pick(['POST', 'POST', 'POST', 'PUT']), headers, body: randomBody(path) });
  }
  return new Request(`https://edge.test${pick(get)}`, { method: pick(['GET', 'GET', 'DELETE']), headers });
}

describe('fuzzing the public API', () => {
  it(`answers ${CASES} random and malformed requests without a 500, always in OpenAI's error shape`, async () => {
    const seen = new Map<number, number>();
    for (let i = 0; i < CASES; i++) {
      const req = randomRequest(i);
      const what = `#${i} ${req.method} ${new URL(req.url).pathname}`;
      // A hang guard, not a timing assertion: any answer at all within it is fine.
      const res = await Promise.race([worker.fetch(req), new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} hung`)), 10_000))]);
      seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
      expect(res.status, what).not.toBe(500);
      const text = await res.text();
      if (res.status < 400) continue;
      const body = JSON.parse(text) as { error?: Record<string, unknown> };
      expect(Object.keys(body.error ?? {}).sort(), what).toEqual(['code', 'message', 'param', 'type']);
      expect(typeof body.error!.message, what).toBe('string');
      expect(typeof body.error!.code, what).toBe('string');
    }
    // The generator must actually reach both refusals and valid requests (503: no node in this config).
    expect(seen.get(400)).toBeGreaterThan(50);
    expect(seen.has(503)).toBe(true);
  }, 120_000);
});
