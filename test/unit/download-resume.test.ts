import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureFile } from '../../nodes/download';
import { writePartialState } from '../../nodes/download/partial-state';
import { downloadFixture, FAST, type DownloadFixture } from './helpers/download-fixture';

let f: DownloadFixture;
afterEach(async () => {
  await f?.cleanup();
});

const SEGMENT = 1 << 20; // 4 MB files in 4 segments

describe('ensureFile resume', () => {
  it('finishes a complete .partial left by a crash before the rename, without fetching', async () => {
    f = await downloadFixture(4 << 20);
    await mkdir(dirname(f.dest), { recursive: true });
    await writeFile(`${f.dest}.partial`, f.data);
    await writePartialState(f.dest, { url: f.url, total: f.size, etag: null, segments: [{ start: 0, end: f.size, done: f.size }] });
    const r = await ensureFile({ url: f.url, dest: f.dest, sha256: f.sha });
    expect(r).toMatchObject({ fetchedBytes: 0, bytes: f.size });
    expect(await f.destMatches()).toBe(true);
    expect(f.origin.stats().bytes).toBe(0);
    expect(existsSync(`${f.dest}.partial.json`)).toBe(false);
  });

  it('ignores a corrupt progress sidecar and downloads from scratch', async () => {
    f = await downloadFixture(2 << 20);
    await mkdir(dirname(f.dest), { recursive: true });
    await writeFile(`${f.dest}.partial`, f.data.subarray(0, 1000));
    await writeFile(`${f.dest}.partial.json`, '{"v":1,"segments":"nope"');
    await ensureFile({ url: f.url, dest: f.dest, sha256: f.sha });
    expect(await f.destMatches()).toBe(true);
  });

  it('deletes a corrupt file at the final path and fetches it again', async () => {
    f = await downloadFixture(2 << 20);
    await mkdir(dirname(f.dest), { recursive: true });
    const bad = Buffer.from(f.data);
    bad[12345] ^= 1;
    await writeFile(f.dest, bad);
    const r = await ensureFile({ url: f.url, dest: f.dest, sha256: f.sha });
    expect(r).toMatchObject({ reused: false, fetchedBytes: f.size });
    expect(await f.destMatches()).toBe(true);
  });

  it('after an abort, resumes and fetches less than one segment twice', async () => {
    f = await downloadFixture(4 << 20, 'model.bin', 48); // ~6 MB/s: several progress ticks
    const ctl = new AbortController();
    const err = await ensureFile({
      url: f.url,
      dest: f.dest,
      sha256: f.sha,
      signal: ctl.signal,
      onProgress: (p) => p.doneBytes >= f.size / 2 && ctl.abort(),
    }).catch((e) => e);
    expect(err.code).toBe('cancelled');
    expect(existsSync(`${f.dest}.partial.json`)).toBe(true);
    f.origin.setRate(null);
    const r = await ensureFile({ url: f.url, dest: f.dest, sha256: f.sha, ...FAST });
    expect(r.fetchedBytes).toBeLessThan(f.size);
    expect(await f.destMatches()).toBe(true);
    expect(f.origin.stats().bytes).toBeLessThan(f.size + SEGMENT);
  });

  it('resumes after the downloading process is SIGKILLed at ~50%', async () => {
    f = await downloadFixture(4 << 20, 'model.bin', 24); // ~3 MB/s so the kill lands mid-download
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'helpers/download-child.ts'), f.url, f.dest, f.sha], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((r) => child.once('exit', r));
    let killedAt = -1;
    for await (const line of createInterface({ input: child.stdout! })) {
      const p = JSON.parse(line);
      if (p === 'done') break;
      if (p.doneBytes >= f.size / 2) {
        killedAt = p.doneBytes;
        child.kill('SIGKILL');
        break;
      }
    }
    await exited;
    expect(killedAt).toBeGreaterThan(0);
    expect(killedAt).toBeLessThan(f.size);
    f.origin.setRate(null);
    const r = await ensureFile({ url: f.url, dest: f.dest, sha256: f.sha, ...FAST });
    expect(r.fetchedBytes).toBeLessThan(f.size);
    expect(await f.destMatches()).toBe(true);
    expect(f.origin.stats().bytes).toBeLessThan(f.size + SEGMENT);
  });
});
