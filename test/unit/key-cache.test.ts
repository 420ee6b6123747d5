import { describe, expect, it } from 'vitest';
import { KeyCache } from '../../src/cache/keys';
import { fail } from '../../src/errors';
import type { KeyInfo } from '../../src/hub/key-info';

const HASH = 'ab'.repeat(32);
const live: KeyInfo = {
  ok: true,
  id: 'k1',
  models: null,
  scope: { regions: null, owner: null, min_trust: null },
  limits: { rpm: null, tpm: null, quota_tokens: null, quota_period: null, max_inflight: null },
  usage: null,
  at: 0,
};
const revokedInfo: KeyInfo = { ...fail('invalid_api_key', 'This API key was revoked.'), at: 0 };

describe('the key cache after a revocation through this isolate', () => {
  // The Hub's answers as they change; the cache's bound (3 s) is far longer than this test, so only the filter moves.
  it('never admits the key again once a fresher filter dropped it, whatever the look-up budget does', async () => {
    let revoked = false;
    const calls = { info: 0 };
    const cache = new KeyCache({
      maxAgeMs: 3000,
      fetchInfo: async () => {
        calls.info++;
        return revoked ? revokedInfo : live;
      },
      fetchFilter: async () => ({ prefixes: revoked ? [] : [HASH.slice(0, 16)], at: Date.now() }),
    });
    const waitUntil = () => undefined;
    expect(await cache.resolve(HASH, waitUntil)).toMatchObject({ ok: true });
    const before = calls.info;
    revoked = true;
    cache.forgetFilter();
    // More look-ups than the per-second budget of direct Hub look-ups for unlisted keys: refused every time.
    const answers = [];
    for (let i = 0; i < 12; i++) answers.push(await cache.resolve(HASH, waitUntil));
    expect(answers.filter((a) => a?.ok)).toEqual([]);
    // The stale answer sent the look-up to the Hub, within the budget of five direct look-ups a second.
    expect(calls.info - before).toBeGreaterThanOrEqual(1);
    expect(calls.info - before).toBeLessThanOrEqual(5);
  });
});
