import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureFile } from '../../nodes/download';
import { downloadFixture, FAST, type DownloadFixture } from './helpers/download-fixture';

let f: DownloadFixture;
afterEach(async () => {
  await f?.cleanup();
});

const get = (fx: DownloadFixture) => ensureFile({ url: fx.url, dest: fx.dest, sha256: fx.sha, bytes: fx.size, ...FAST });

describe('ensureFile against a misbehaving origin', () => {
  it('recovers from connections reset mid-segment, fetching only the missing bytes', async () => {
    f = await downloadFixture(4 << 20);
    f.origin.setFault({ kind: 'reset-mid-body', afterBytes: 300_000, times: 3 });
    const r = await get(f);
    expect(r.bytes).toBe(f.size);
    expect(await f.destMatches()).toBe(true);
    // The reset bytes were kept: at most a few in-flight chunks are fetched twice.
    expect(f.origin.stats().requests).toBeGreaterThan(5); // the faults did fire
    expect(f.origin.stats().bytes).toBeLessThan(f.size + (1 << 20));
  });

  it('falls back to a single stream when the origin ignores Range', async () => {
    f = await downloadFixture(4 << 20);
    f.origin.setFault({ kind: 'ignore-range' });
    const r = await get(f);
    expect(r.bytes).toBe(f.size);
    expect(await f.destMatches()).toBe(true);
    expect(f.origin.stats().requests).toBeGreaterThan(5);
  });

  it('detects a Content-Length that disagrees with the expected size before fetching', async () => {
    f = await downloadFixture(2 << 20);
    f.origin.setFault({ kind: 'wrong-length', extra: 4096 });
    const err = await get(f).catch((e) => e);
    expect(err.code).toBe('download_failed');
    expect(err.message).toContain(`origin has ${f.size + 4096} bytes`);
    expect(f.origin.stats().bytes).toBe(0);
  });

  it('detects bodies shorter than their Content-Length and fails rather than hang or pass them off', async () => {
    f = await downloadFixture(2 << 20);
    f.origin.setFault({ kind: 'wrong-length', extra: 4096 });
    const err = await ensureFile({ url: f.url, dest: f.dest, sha256: f.sha, ...FAST, retries: 2 }).catch((e) => e);
    expect(err.code).toBe('download_failed');
    expect(err.message).toMatch(/ended after|aborted|HTTP 416/); // short body, or asked past the real end
    expect(existsSync(f.dest)).toBe(false);
    f.origin.setFault(null);
    expect((await get(f)).bytes).toBe(f.size); // and the next call, facing an honest origin, starts over and completes
    expect(await f.destMatches()).toBe(true);
  });

  it('gives up with download_failed when every body is short and never passes off a partial file', async () => {
    f = await downloadFixture(2 << 20);
    f.origin.setFault({ kind: 'truncate', afterBytes: 0 });
    const err = await ensureFile({ url: f.url, dest: f.dest, sha256: f.sha, ...FAST, retries: 2 }).catch((e) => e);
    expect(err.code).toBe('download_failed');
    expect(err.message).toMatch(/ended after 0 of/);
    expect(existsSync(f.dest)).toBe(false);
  });

  it('detects a truncated body (clean end, no Content-Length) and resumes it', async () => {
    f = await downloadFixture(4 << 20);
    f.origin.setFault({ kind: 'truncate', afterBytes: 100_000, times: 3 });
    expect((await get(f)).bytes).toBe(f.size);
    expect(await f.destMatches()).toBe(true);
    expect(f.origin.stats().requests).toBeGreaterThan(5);
  });

  it('aborts a stalled segment and retries it', async () => {
    f = await downloadFixture(4 << 20);
    f.origin.setFault({ kind: 'stall', afterBytes: 200_000, ms: 3000, times: 1 });
    const r = await ensureFile({ url: f.url, dest: f.dest, sha256: f.sha, ...FAST, stallMs: 300 });
    expect(r.bytes).toBe(f.size);
    expect(await f.destMatches()).toBe(true);
    expect(f.origin.stats().requests).toBeGreaterThan(5);
  });

  it('rejects a flipped byte with verify_failed, deletes the partial, and succeeds once the origin is fixed', async () => {
    f = await downloadFixture(4 << 20);
    f.origin.setFault({ kind: 'flip-byte', offset: 3_000_000 });
    const err = await get(f).catch((e) => e);
    expect(err.code).toBe('verify_failed');
    expect(err.message).toContain(`expected ${f.sha}`);
    for (const p of [f.dest, `${f.dest}.partial`, `${f.dest}.partial.json`]) expect(existsSync(p)).toBe(false);
    f.origin.setFault(null);
    f.origin.resetStats();
    expect((await get(f)).reused).toBe(false);
    expect(await f.destMatches()).toBe(true);
    expect(f.origin.stats().bytes).toBe(f.size); // from scratch: nothing of the bad partial was kept
  });
});
