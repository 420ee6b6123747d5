import { afterEach, describe, expect, it } from 'vitest';
import { ensureFile } from '../../nodes/download';
import { PIECE_BYTES } from '../../nodes/download/plan';
import { downloadFixture, FAST, type DownloadFixture } from './helpers/download-fixture';

let f: DownloadFixture;
afterEach(async () => {
  await f?.cleanup();
});

describe('ensureFile over more pieces than connections', () => {
  it('fetches every piece once, in order, over the given connections', async () => {
    f = await downloadFixture(2 * PIECE_BYTES + 12345);
    const r = await ensureFile({ url: f.url, dest: f.dest, sha256: f.sha, bytes: f.size, segments: 2 });
    expect(r).toMatchObject({ bytes: f.size, fetchedBytes: f.size });
    expect(await f.destMatches()).toBe(true);
    expect(f.origin.stats().byFile[f.name]).toEqual({ requests: 1 + 3, bytes: f.size }); // HEAD + 3 pieces
  });

  it('resumes a many-piece sidecar after an abort, fetching only what is missing', async () => {
    f = await downloadFixture(3 * PIECE_BYTES, 'model.bin', 8 * 100); // ~100 MB/s: several ticks
    const ctl = new AbortController();
    const err = await ensureFile({
      url: f.url,
      dest: f.dest,
      sha256: f.sha,
      signal: ctl.signal,
      onProgress: (p) => p.doneBytes >= f.size / 2 && ctl.abort(),
    }).catch((e) => e);
    expect(err.code).toBe('cancelled');
    f.origin.setRate(null);
    const r = await ensureFile({ url: f.url, dest: f.dest, sha256: f.sha, ...FAST });
    expect(r.fetchedBytes).toBeLessThan(f.size * 0.75);
    expect(await f.destMatches()).toBe(true);
    expect(f.origin.stats().bytes).toBeLessThan(f.size + PIECE_BYTES);
  });
});
