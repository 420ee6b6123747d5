import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { DownloadError, ensureFile, type DownloadProgress } from '../../nodes/download';
import { verifiedPath } from '../../nodes/download/verified-cache';
import { downloadFixture, FAST, type DownloadFixture } from './helpers/download-fixture';

let f: DownloadFixture;
afterEach(async () => {
  await f?.cleanup();
});

describe('ensureFile', () => {
  it('downloads in parallel range segments, verifies, and reports progress', async () => {
    f = await downloadFixture(4 << 20);
    const seen: DownloadProgress[] = [];
    const r = await ensureFile({ url: f.url, dest: f.dest, sha256: f.sha, bytes: f.size, onProgress: (p) => seen.push(p) });
    expect(r).toEqual({ path: f.dest, bytes: f.size, fetchedBytes: f.size, reused: false, sha256: f.sha });
    expect(await f.destMatches()).toBe(true);
    // One HEAD plus one GET per segment; every byte served exactly once.
    expect(f.origin.stats().byFile[f.name]).toEqual({ requests: 5, bytes: f.size });
    expect(seen.at(-1)).toMatchObject({ doneBytes: f.size, totalBytes: f.size });
    expect(existsSync(`${f.dest}.partial`) || existsSync(`${f.dest}.partial.json`)).toBe(false);
  });

  it('trusts a verified file on the next call without fetching (verdict cached in a sidecar)', async () => {
    f = await downloadFixture(2 << 20);
    await ensureFile({ url: f.url, dest: f.dest, sha256: f.sha });
    expect(existsSync(verifiedPath(f.dest))).toBe(true);
    f.origin.resetStats();
    const seen: DownloadProgress[] = [];
    const r = await ensureFile({ url: f.url, dest: f.dest, sha256: f.sha, onProgress: (p) => seen.push(p) });
    expect(r).toMatchObject({ reused: true, fetchedBytes: 0, bytes: f.size });
    expect(f.origin.stats().requests).toBe(0);
    expect(seen).toEqual([{ doneBytes: f.size, totalBytes: f.size, bytesPerSec: 0 }]);
  });

  it('works without a known digest or size (size from the origin)', async () => {
    f = await downloadFixture(3 << 20);
    const r = await ensureFile({ url: f.url, dest: f.dest, segments: 3 });
    expect(r.bytes).toBe(f.size);
    expect(await f.destMatches()).toBe(true);
  });

  it('fails with disk_full, naming needed and free bytes, before fetching any body byte', async () => {
    f = await downloadFixture(2 << 20);
    const err = await ensureFile({ url: f.url, dest: f.dest, sha256: f.sha, diskFreeBytes: async () => 1000 }).catch((e) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect(err.code).toBe('disk_full');
    expect(err.message).toContain(`need ${f.size} bytes, 1000 free`);
    expect(f.origin.stats().bytes).toBe(0);
    expect(existsSync(`${f.dest}.partial`)).toBe(false);
  });

  it('runs one download per dest: concurrent callers share it and all get progress', async () => {
    f = await downloadFixture(4 << 20);
    const a: DownloadProgress[] = [];
    const b: DownloadProgress[] = [];
    const [ra, rb] = await Promise.all([
      ensureFile({ url: f.url, dest: f.dest, sha256: f.sha, onProgress: (p) => a.push(p) }),
      ensureFile({ url: f.url, dest: f.dest, sha256: f.sha, onProgress: (p) => b.push(p) }),
    ]);
    expect(ra).toEqual(rb);
    expect(f.origin.stats().byFile[f.name].bytes).toBe(f.size);
    expect(a.at(-1)?.doneBytes).toBe(f.size);
    expect(b.at(-1)?.doneBytes).toBe(f.size);
  });

  it('fails with download_failed on a missing file without retrying', async () => {
    f = await downloadFixture(1 << 20);
    const err = await ensureFile({ url: `${f.origin.url}/nope.bin`, dest: f.dest, ...FAST }).catch((e) => e);
    expect(err.code).toBe('download_failed');
    expect(err.message).toContain('404');
    expect(f.origin.stats().requests).toBe(0);
  });

  it('resolves hf:// through PORTEN_HF_BASE against a local origin', async () => {
    f = await downloadFixture(2 << 20, 'org/repo/resolve/main/weights/model.gguf');
    const saved = process.env.PORTEN_HF_BASE;
    process.env.PORTEN_HF_BASE = f.origin.url;
    try {
      const r = await ensureFile({ url: 'hf://org/repo/weights/model.gguf', dest: f.dest, sha256: f.sha });
      expect(r.bytes).toBe(f.size);
      expect(await f.destMatches()).toBe(true);
      expect(f.origin.stats().byFile[f.name].bytes).toBe(f.size);
    } finally {
      if (saved === undefined) delete process.env.PORTEN_HF_BASE;
      else process.env.PORTEN_HF_BASE = saved;
    }
  });
});
