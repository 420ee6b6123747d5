import { describe, expect, it } from 'vitest';
import { checkLimits, quotaPeriod, slidingWindow, type KeyLimits } from '../../src/tenancy/limiter';
import { decide, effectiveStatus, newEnrollment, normalizeUserCode, newUserCode, poll, type EnrollmentState } from '../../src/tenancy/enrollment';
import { defaultRecord, excludedBy, restricts } from '../../src/tenancy/eligibility';
import { displayPrefix, hashSecret, newSecret, API_KEY_PREFIX } from '../../src/tenancy/keys';
import { trustAtLeast } from '../../src/tenancy/trust';

const T0 = Date.UTC(2026, 4, 15, 12, 0, 0);
const ev = (at: number, amount = 1) => ({ at: T0 + at, amount });

describe('slidingWindow', () => {
  it.each([
    ['empty window admits', [], 0, 2, { ok: true, used: 0 }],
    ['under the limit admits', [ev(-1000)], 0, 2, { ok: true, used: 1 }],
    ['at the limit refuses until the oldest ages out', [ev(-50_000), ev(-10_000)], 0, 2, { ok: false, used: 2, retryAfterMs: 10_000 }],
    ['events older than the window do not count', [ev(-60_000), ev(-61_000), ev(-1)], 0, 2, { ok: true, used: 1 }],
    ['just inside the window still counts', [ev(-59_999), ev(-59_998)], 0, 2, { ok: false, used: 2, retryAfterMs: 1 }],
    ['amounts: refuses until enough tokens age out', [ev(-40_000, 80), ev(-30_000, 50)], 0, 100, { ok: false, used: 130, retryAfterMs: 20_000 }],
    ['future events (clock skew) are ignored', [ev(5000, 9)], 0, 1, { ok: true, used: 0 }],
  ])('%s', (_name, events, now, limit, expected) => {
    expect(slidingWindow(events, T0 + now, 60_000, limit)).toEqual(expected);
  });

  it('recovers once the window has moved on: same events, later clock', () => {
    const events = [ev(0), ev(1000)];
    expect(slidingWindow(events, T0 + 2000, 60_000, 2).ok).toBe(false);
    expect(slidingWindow(events, T0 + 60_001, 60_000, 2)).toEqual({ ok: true, used: 1 });
    expect(slidingWindow(events, T0 + 61_001, 60_000, 2)).toEqual({ ok: true, used: 0 });
  });
});

describe('checkLimits', () => {
  const none: KeyLimits = { rpm: null, tpm: null, quota_tokens: null, quota_period: null };
  const row = (startedAgo: number, endedAgo: number | null, tokens: number) => ({
    started_at: T0 - startedAgo,
    ended_at: endedAgo === null ? null : T0 - endedAgo,
    tokens,
  });
  it.each([
    ['no limits admit anything', none, [row(1, 0, 1e9)], 0, true, null],
    ['rpm counts in-flight requests too', { ...none, rpm: 2 }, [row(5000, null, 0), row(4000, 3000, 10)], 0, false, 'rpm'],
    ['tpm counts only finished requests', { ...none, tpm: 100 }, [row(5000, null, 0), row(4000, 3000, 99)], 0, true, null],
    ['tpm refuses at the limit', { ...none, tpm: 100 }, [row(4000, 3000, 100)], 0, false, 'tpm'],
    ['quota refuses when the period is used up', { ...none, quota_tokens: 1000, quota_period: 'day' as const }, [], 1000, false, 'quota'],
    ['quota admits below', { ...none, quota_tokens: 1000, quota_period: 'day' as const }, [], 999, true, null],
  ])('%s', (_name, limits, recent, periodTokens, ok, which) => {
    const v = checkLimits(limits, recent, periodTokens, T0);
    expect(v.ok).toBe(ok);
    if (!v.ok) {
      expect(v.limit).toBe(which);
      expect(v.retryAfterMs).toBeGreaterThan(0);
    }
  });

  it('a quota resets at the end of the UTC period', () => {
    const v = checkLimits({ ...none, quota_tokens: 1, quota_period: 'day' }, [], 5, T0);
    expect(v.ok === false && v.retryAfterMs).toBe(12 * 3600_000);
    expect(quotaPeriod('month', T0)).toEqual({ start: Date.UTC(2026, 4, 1), end: Date.UTC(2026, 5, 1) });
  });
});

describe('enrollment state machine (RFC 8628)', () => {
  const fresh = (): EnrollmentState => newEnrollment(T0, 5, 600_000);
  it.each<[string, (s: EnrollmentState) => EnrollmentState, number, string]>([
    ['first poll of a pending code', (s) => s, 0, 'authorization_pending'],
    ['a poll after the interval', (s) => ({ ...s, lastPollAt: T0 }), 5000, 'authorization_pending'],
    ['a poll within the grace of the interval is on time', (s) => ({ ...s, lastPollAt: T0 }), 4600, 'authorization_pending'],
    ['polling too fast', (s) => ({ ...s, lastPollAt: T0 }), 1000, 'slow_down'],
    ['denied', (s) => ({ ...s, status: 'denied' }), 0, 'access_denied'],
    ['approved issues a key', (s) => ({ ...s, status: 'approved' }), 0, 'issue'],
    ['approved but polled too fast still issues', (s) => ({ ...s, status: 'approved', lastPollAt: T0 }), 10, 'issue'],
    ['expired while pending', (s) => s, 600_000, 'expired_token'],
    ['expired even if approved', (s) => ({ ...s, status: 'approved' }), 600_000, 'expired_token'],
    ['used once already', (s) => ({ ...s, status: 'approved', claimedAt: T0 }), 10, 'expired_token'],
  ])('poll: %s', (_name, setup, dt, expected) => {
    const r = poll(setup(fresh()), T0 + dt);
    expect(r.kind === 'issue' ? 'issue' : r.error).toBe(expected);
  });

  it('slow_down adds five seconds to the interval for every later poll', () => {
    const r = poll({ ...fresh(), lastPollAt: T0 }, T0 + 100);
    expect(r.next.intervalS).toBe(10);
    expect(poll(r.next, T0 + 100 + 6000).kind === 'error' && poll(r.next, T0 + 100 + 6000)).toMatchObject({ error: 'slow_down' });
    expect(poll(r.next, T0 + 100 + 10_000)).toMatchObject({ error: 'authorization_pending' });
  });

  it('issues exactly once', () => {
    const first = poll({ ...fresh(), status: 'approved' }, T0 + 1);
    expect(first.kind).toBe('issue');
    expect(poll(first.next, T0 + 10_000)).toMatchObject({ kind: 'error', error: 'expired_token' });
  });

  it.each<[string, Partial<EnrollmentState>, number, 'approve' | 'deny', string]>([
    ['approve a pending code', {}, 0, 'approve', 'approved'],
    ['deny a pending code', {}, 0, 'deny', 'denied'],
    ['cannot decide twice', { status: 'denied' }, 0, 'approve', 'already_decided'],
    ['cannot approve an expired code', {}, 600_000, 'approve', 'expired'],
  ])('decide: %s', (_name, patch, dt, decision, expected) => {
    const r = decide({ ...fresh(), ...patch }, decision, T0 + dt);
    expect(r.ok ? r.next.status : r.reason).toBe(expected);
  });

  it('shows expiry to operators', () => {
    expect(effectiveStatus(fresh(), T0)).toBe('pending');
    expect(effectiveStatus(fresh(), T0 + 600_000)).toBe('expired');
    expect(effectiveStatus({ ...fresh(), status: 'approved', claimedAt: T0 }, T0 + 1e9)).toBe('approved');
  });

  it('user codes are eight consonants and normalise from what people type', () => {
    for (let i = 0; i < 50; i++) expect(newUserCode()).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(normalizeUserCode('bcdf ghjk')).toBe('BCDF-GHJK');
    expect(normalizeUserCode('BCDFGHJK')).toBe('BCDF-GHJK');
    expect(normalizeUserCode('ABCD-EFGH')).toBeNull();
    expect(normalizeUserCode('BCD')).toBeNull();
  });
});

describe('eligibility and trust', () => {
  const node = (p: Partial<ReturnType<typeof defaultRecord>>) => ({ ...defaultRecord('n1'), ...p });
  it.each([
    ['no scope: any live node', null, node({}), null],
    ['revoked nodes never serve', null, node({ revoked: true }), 'revoked'],
    ['region match', { regions: ['eu'], owner: null, min_trust: null }, node({ region: 'eu' }), null],
    ['region mismatch', { regions: ['eu'], owner: null, min_trust: null }, node({ region: 'us' }), 'region'],
    ['owner mismatch', { regions: null, owner: 'acme', min_trust: null }, node({ owner: 'other' }), 'owner'],
    ['owner match', { regions: null, owner: 'acme', min_trust: null }, node({ owner: 'acme' }), null],
    ['trust too low', { regions: null, owner: null, min_trust: 'trusted' as const }, node({ trust: 'verified' }), 'trust'],
    ['stronger trust admitted', { regions: null, owner: null, min_trust: 'verified' as const }, node({ trust: 'confidential' }), null],
  ])('%s', (_name, scope, rec, expected) => {
    expect(excludedBy(scope, rec)).toBe(expected);
  });

  it('orders trust classes', () => {
    expect(trustAtLeast('community', 'verified')).toBe(false);
    expect(trustAtLeast('confidential', 'trusted')).toBe(true);
    expect(restricts({ regions: null, owner: null, min_trust: null })).toBe(false);
    expect(restricts({ regions: [], owner: null, min_trust: null })).toBe(false);
  });
});

describe('keys', () => {
  it('are random, prefixed, and stored as a stable SHA-256', async () => {
    const a = newSecret(API_KEY_PREFIX);
    expect(a).toMatch(/^sk-porten-[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(newSecret(API_KEY_PREFIX));
    expect(await hashSecret('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(displayPrefix(a)).toBe(a.slice(0, 14));
  });
});
