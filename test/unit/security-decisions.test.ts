import { describe, expect, it } from 'vitest';
import {
  boundedCapacity,
  boundedInventory,
  boundedVram,
  judgeClaim,
  NODE_BUDGET_CEILING_MB,
  NODE_CONCURRENCY_CEILING,
  ownsLoad,
} from '../../src/security/claims';
import { throttleKey } from '../../src/security/client-ip';
import { allowedOrigin, allowedRequestHeaders, corsPolicy } from '../../src/security/cors';
import { MIN_SECRET_CHARS, secretState, strongSecret } from '../../src/security/secrets';
import { KeyedThrottle, takeToken } from '../../src/security/throttle';
import { allowedMethods, pathPattern } from '../../src/routes/methods';
import { admitEnrollment, type PendingEnrollment } from '../../src/tenancy/enrollment-admission';
import { defaultMinTrust, describeScope, effectiveScope } from '../../src/tenancy/eligibility';
import { issueLiveTicket, verifyLiveTicket } from '../../src/live-ticket';

const SHA = 'a'.repeat(64);
const builtin = { engine: 'builtin', sha256: SHA };

describe('judgeClaim: readiness is earned', () => {
  it.each([
    ['ordered, any phase', { phase: 'ready', ordered: true, model: builtin }, { ok: true, basis: 'ordered' }],
    ['ordered download', { phase: 'downloading', ordered: true, model: builtin }, { ok: true, basis: 'ordered' }],
    ['verified weights, ready', { phase: 'ready', ordered: false, model: builtin, inventorySha: SHA }, { ok: true, basis: 'verified' }],
    ['verified weights, loading', { phase: 'loading', ordered: false, model: builtin, inventorySha: SHA }, { ok: true, basis: 'verified' }],
    [
      'verified weights cannot explain a download',
      { phase: 'downloading', ordered: false, model: builtin, inventorySha: SHA },
      { ok: false, reason: 'not_ordered' },
    ],
    ['unverified weights', { phase: 'ready', ordered: false, model: builtin, inventorySha: 'b'.repeat(64) }, { ok: false, reason: 'not_ordered' }],
    ['no weights at all', { phase: 'ready', ordered: false, model: builtin }, { ok: false, reason: 'not_ordered' }],
    [
      'a catalog entry without a pin',
      { phase: 'ready', ordered: false, model: { engine: 'builtin', sha256: null }, inventorySha: SHA },
      { ok: false, reason: 'not_ordered' },
    ],
    [
      'an openai upstream (nothing to verify)',
      { phase: 'ready', ordered: false, model: { engine: 'openai', sha256: SHA }, inventorySha: SHA },
      { ok: false, reason: 'not_ordered' },
    ],
    ['a model not in the catalog', { phase: 'ready', ordered: true, model: null }, { ok: false, reason: 'not_in_catalog' }],
  ] as const)('%s', (_name, input, verdict) => expect(judgeClaim(input)).toEqual(verdict));

  it('counts failed/stopped only from the node that holds the load', () => {
    expect(ownsLoad({ ordered: true, hasReplica: false })).toBe(true);
    expect(ownsLoad({ ordered: false, hasReplica: true })).toBe(true);
    expect(ownsLoad({ ordered: false, hasReplica: false })).toBe(false);
  });
});

describe('bounded claims', () => {
  it.each([
    [
      'an honest claim',
      { vram_budget_mb: 24_000, max_concurrency: 4 },
      { max_budget_mb: null, max_concurrency: null },
      { vram_budget_mb: 24_000, max_concurrency: 4 },
    ],
    [
      'an absurd claim',
      { vram_budget_mb: 1e15, max_concurrency: 4096 },
      { max_budget_mb: null, max_concurrency: null },
      { vram_budget_mb: NODE_BUDGET_CEILING_MB, max_concurrency: NODE_CONCURRENCY_CEILING },
    ],
    [
      'the operator’s caps',
      { vram_budget_mb: 80_000, max_concurrency: 64 },
      { max_budget_mb: 8192, max_concurrency: 2 },
      { vram_budget_mb: 8192, max_concurrency: 2 },
    ],
    [
      'caps above the claim',
      { vram_budget_mb: 1000, max_concurrency: 1 },
      { max_budget_mb: 8192, max_concurrency: 8 },
      { vram_budget_mb: 1000, max_concurrency: 1 },
    ],
    [
      'a non-finite budget',
      { vram_budget_mb: Number.NaN, max_concurrency: 2 },
      { max_budget_mb: null, max_concurrency: null },
      { vram_budget_mb: 0, max_concurrency: 2 },
    ],
  ])('%s', (_name, claimed, caps, out) => expect(boundedCapacity(claimed, caps)).toEqual(out));

  it('keeps only catalog models, once each, within the size ceiling, with real digests', () => {
    const inv = boundedInventory(
      [
        { model: 'demo-small', bytes: 10, sha256: SHA },
        { model: 'demo-small', bytes: 99 },
        { model: 'not-offered', bytes: 10 },
        { model: 'demo-large', bytes: 2 ** 60 },
        { model: 'demo-plain', bytes: 5, sha256: 'not-a-digest' },
      ],
      (m) => m.startsWith('demo-'),
    );
    expect(inv).toEqual([
      { model: 'demo-small', bytes: 10, sha256: SHA },
      { model: 'demo-plain', bytes: 5 },
    ]);
  });

  it('bounds a measured footprint by the node budget', () => {
    expect(boundedVram(1e12, 100)).toBe(100);
    expect(boundedVram(-5, 100)).toBe(0);
    expect(boundedVram(Number.POSITIVE_INFINITY, 100)).toBeUndefined();
    expect(boundedVram(undefined, 100)).toBeUndefined();
  });
});

describe('default minimum trust', () => {
  it('is verified unless configured, and fails closed on nonsense', () => {
    expect(defaultMinTrust(undefined)).toEqual({ trust: 'verified' });
    expect(defaultMinTrust('community')).toEqual({ trust: 'community' });
    expect(defaultMinTrust('comunity')).toMatchObject({ trust: 'verified', error: expect.stringContaining('comunity') });
  });

  it('fills keys without min_trust (the bootstrap key too) and says so when it refuses', () => {
    expect(effectiveScope(null, 'verified')).toEqual({ regions: null, owner: null, min_trust: 'verified', default_trust: true });
    const own = { regions: ['eu'], owner: null, min_trust: 'community' as const };
    expect(effectiveScope(own, 'verified')).toBe(own);
    expect(describeScope(effectiveScope(null, 'verified'))).toContain('PORTEN_DEFAULT_MIN_TRUST');
  });
});

describe('token buckets', () => {
  const rule = { burst: 3, perMinute: 6 };
  it('allows a burst, then refills at the rate', () => {
    let b: ReturnType<typeof takeToken>['bucket'] | undefined;
    const t = (now: number) => {
      const r = takeToken(b, rule, now);
      b = r.bucket;
      return r.verdict;
    };
    expect([t(0), t(0), t(0)].every((v) => v.ok)).toBe(true);
    expect(t(0)).toEqual({ ok: false, retryAfterMs: 10_000 });
    expect(t(10_000).ok).toBe(true);
    expect(t(10_000).ok).toBe(false);
  });

  it('keeps keys apart, bounds its memory, and remembers who was refused', () => {
    const th = new KeyedThrottle(rule, 2);
    for (let i = 0; i < 3; i++) th.take('a', 0);
    expect(th.take('a', 0).ok).toBe(false);
    expect(th.take('b', 0).ok).toBe(true);
    expect(th.wasRefused('a', 1000)).toBe(true);
    expect(th.wasRefused('b', 1000)).toBe(false);
    // A third key evicts the oldest bucket, which only ever resets it to full.
    th.take('c', 0);
    expect(th.take('a', 0).ok).toBe(true);
  });
});

describe('client keys', () => {
  it.each([
    ['203.0.113.7', 'v4:203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', 'v6:2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', 'v6:2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff::1', 'v6:2001:db8:1:2::/64'],
    ['::ffff:192.0.2.1', 'v4:192.0.2.1'],
    ['::1', 'v6:0:0:0:0::/64'],
    [null, 'local'],
    ['', 'local'],
    ['not an address', 'local'],
    ['1:2:3', 'local'],
  ])('%s → %s', (header, key) => expect(throttleKey(header)).toBe(key));
});

describe('enrollment admission', () => {
  const at = (user_code: string, source: string, created: number): PendingEnrollment => ({ user_code, source, created });
  const caps = { perSource: 2, total: 4 };

  it('caps pending codes per source', () => {
    const pending = [at('A', 'v4:1', 1), at('B', 'v4:1', 2)];
    expect(admitEnrollment(pending, 'v4:1', undefined, caps)).toMatchObject({ ok: false, reason: 'source_full' });
    expect(admitEnrollment(pending, 'v4:2', undefined, caps)).toEqual({ ok: true });
  });

  it('when full, evicts from the source holding the most, never locking a newcomer out', () => {
    const pending = [at('A', 'v4:1', 1), at('B', 'v4:1', 2), at('C', 'v4:2', 0), at('D', 'v4:3', 3)];
    expect(admitEnrollment(pending, 'v4:9', undefined, caps)).toEqual({ ok: true, evict: 'A' });
  });

  it('prefers evicting a rate-limited source, then the oldest code', () => {
    const pending = [at('A', 'v4:1', 1), at('B', 'v4:1', 2), at('C', 'v4:2', 0), at('D', 'v4:3', 3)];
    expect(admitEnrollment(pending, 'v4:9', (s) => s === 'v4:3', caps)).toEqual({ ok: true, evict: 'D' });
    const even = [at('A', 'v4:1', 5), at('C', 'v4:2', 0), at('D', 'v4:3', 3), at('E', 'v4:4', 4)];
    expect(admitEnrollment(even, 'v4:9', undefined, caps)).toEqual({ ok: true, evict: 'C' });
  });

  it('gives the local source (no client address) no per-source cap', () => {
    const pending = [at('A', 'local', 1), at('B', 'local', 2)];
    expect(admitEnrollment(pending, 'local', undefined, caps)).toEqual({ ok: true });
  });
});

describe('CORS policy', () => {
  it('allows nothing by default, any origin with *, or an exact list', () => {
    expect(allowedOrigin(corsPolicy(undefined), 'https://a.example')).toBeNull();
    expect(allowedOrigin(corsPolicy('*'), 'https://a.example')).toBe('*');
    const list = corsPolicy('https://a.example/, https://B.example');
    expect(allowedOrigin(list, 'https://a.example')).toBe('https://a.example');
    expect(allowedOrigin(list, 'https://b.example')).toBe('https://b.example');
    expect(allowedOrigin(list, 'https://evil.example')).toBeNull();
    expect(allowedOrigin(list, null)).toBeNull();
  });

  it('lists authorization explicitly and only header names in preflight answers', () => {
    expect(allowedRequestHeaders('X-Stainless-Lang, content-type, bad header, x-porten-warmup-budget')).toBe(
      'authorization, content-type, x-stainless-lang, x-porten-warmup-budget',
    );
  });
});

describe('405 with Allow', () => {
  const routes = [
    { method: 'GET', path: '/v1/models' },
    { method: 'GET', path: '/v1/models/:id{.+}' },
    { method: 'POST', path: '/v1/chat/completions' },
    { method: 'ALL', path: '/v1/*' },
    { method: 'POST', path: '/admin/v1/enrollments/:code/approve' },
  ];
  const allowed = allowedMethods(routes);
  it.each([
    ['/v1/chat/completions', ['POST']],
    ['/v1/models', ['GET', 'HEAD']],
    ['/v1/models/org/model', ['GET', 'HEAD']],
    ['/admin/v1/enrollments/BCDF-GHJK/approve', ['POST']],
    ['/v1/responses', []],
    ['/v1/chat/completions/extra', []],
  ])('%s → %j', (path, methods) => expect(allowed(path)).toEqual(methods));

  it('compiles Hono patterns', () => {
    expect(pathPattern('/v1/models/:id{.+}').test('/v1/models/a/b')).toBe(true);
    expect(pathPattern('/admin/v1/keys/:id').test('/admin/v1/keys/a/b')).toBe(false);
    expect(pathPattern('/a.b').test('/aXb')).toBe(false);
  });
});

describe('configured secrets', () => {
  it(`refuses anything shorter than ${MIN_SECRET_CHARS} characters`, () => {
    expect(secretState('PORTEN_ADMIN_TOKEN', undefined)).toEqual({ kind: 'unset' });
    expect(secretState('PORTEN_ADMIN_TOKEN', 'admin')).toMatchObject({ kind: 'weak', message: expect.stringContaining('only 5 characters') });
    expect(secretState('PORTEN_API_KEY', 'k'.repeat(32))).toEqual({ kind: 'ok', value: 'k'.repeat(32) });
    expect(strongSecret('short')).toBeUndefined();
  });
});

describe('live tickets', () => {
  const secret = 's'.repeat(40);
  it('verify only unexpired tickets signed with the token, and differ even when issued in the same millisecond', async () => {
    const a = await issueLiveTicket(secret, 1_000);
    const b = await issueLiveTicket(secret, 1_000);
    expect(a.ticket).not.toBe(b.ticket);
    expect(await verifyLiveTicket(secret, a.ticket, 1_500)).toMatchObject({ expiresAt: 61_000 });
    expect(await verifyLiveTicket(secret, a.ticket, 61_001)).toBeNull();
    expect(await verifyLiveTicket('t'.repeat(40), a.ticket, 1_500)).toBeNull();
    expect(await verifyLiveTicket(secret, `${a.ticket.slice(0, -2)}xx`, 1_500)).toBeNull();
  });
});
