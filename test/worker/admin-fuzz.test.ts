import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { seeded } from '../support/random';

// Random and malformed bodies and paths on the tenancy endpoints (admin, enrollment, agent connect):
// never a 500, always OpenAI's error shape.

const worker = (exports as unknown as { default: { fetch: typeof fetch } }).default;
const CASES = 250;

const { rand, int, pick } = seeded(4004);
const VALUES: unknown[] = [null, true, 0, -1, 1.5, 1e308, '', 'eu', 'x'.repeat(500), '\u0000', [], ['eu'], [1], {}, { a: 1 }, 'verified', 'day', 'BCDF-GHJK'];
const FIELDS = [
  'name',
  'models',
  'regions',
  'owner',
  'min_trust',
  'rpm',
  'tpm',
  'quota_tokens',
  'quota_period',
  'node_id',
  'region',
  'trust',
  'hostname',
  'device_code',
  'grant_type',
  'x',
];

function body(): BodyInit {
  const kind = int(5);
  if (kind === 0) return '';
  if (kind === 1) return new Uint8Array(Array.from({ length: 1 + int(30) }, () => int(256)));
  if (kind === 2) return JSON.stringify(pick(VALUES));
  const o: Record<string, unknown> = {};
  for (let i = int(5); i > 0; i--) o[pick(FIELDS)] = pick(VALUES);
  return JSON.stringify(o);
}

function request(): Request {
  const seg = pick(['x', 'BCDF-GHJK', '%FF', 'a'.repeat(100), 'key_1', 'node.1', '..', '%00']);
  const routes: Array<[string, string]> = [
    ['POST', '/admin/v1/keys'],
    ['GET', '/admin/v1/keys'],
    ['DELETE', `/admin/v1/keys/${seg}`],
    ['POST', '/admin/v1/nodes'],
    ['PATCH', `/admin/v1/nodes/${seg}`],
    ['DELETE', `/admin/v1/nodes/${seg}`],
    ['GET', '/admin/v1/enrollments'],
    ['POST', `/admin/v1/enrollments/${seg}/approve`],
    ['POST', `/admin/v1/enrollments/${seg}/deny`],
    ['GET', `/admin/v1/usage?group_by=${seg}&bucket=${pick(['hour', 'day', seg])}&since=${pick(['0', '2026-01-01', seg])}`],
    ['POST', '/agent/v1/enroll'],
    ['POST', '/agent/v1/enroll/token'],
    ['GET', '/agent/v1/connect'],
  ];
  const [method, path] = pick(routes);
  const auth = path.startsWith('/admin')
    ? pick(['Bearer admin-test-token-of-the-worker-suite-0123', 'Bearer admin-test-token-of-the-worker-suite-0123', 'Bearer nope', ''])
    : pick(['Bearer node-test-key-of-the-worker-suite-012345', 'Bearer nk-porten-x', '']);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (auth) headers.authorization = auth;
  if (path.endsWith('/connect') && rand() < 0.5) headers['x-porten-node-id'] = pick(['n1', seg, '']);
  return new Request(`https://edge.test${path}`, { method, headers, body: method === 'GET' || method === 'DELETE' ? undefined : body() });
}

describe('fuzzing the tenancy endpoints', () => {
  it(`answers ${CASES} random requests without a 500, always in OpenAI's error shape`, async () => {
    const seen = new Map<number, number>();
    for (let i = 0; i < CASES; i++) {
      const req = request();
      const what = `#${i} ${req.method} ${new URL(req.url).pathname}`;
      const res = await worker.fetch(req);
      seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
      expect(res.status, what).not.toBe(500);
      const text = await res.text();
      if (res.status < 400) continue;
      const parsed = JSON.parse(text) as { error?: Record<string, unknown> };
      expect(Object.keys(parsed.error ?? {}).sort(), what).toEqual(['code', 'message', 'param', 'type']);
    }
    expect(seen.get(400)).toBeGreaterThan(20);
    expect(seen.get(401)).toBeGreaterThan(5);
  }, 120_000);
});
