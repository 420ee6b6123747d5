import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startDemoOrigin, type DemoOrigin } from '../../scripts/demo-origin';

let dir: string;
let origin: DemoOrigin;
const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'porten-origin-'));
  await writeFile(join(dir, 'a.bin'), data);
  origin = await startDemoOrigin({ dir });
});
afterAll(async () => {
  await origin.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  origin.setFault(null);
  origin.resetStats();
});

const bytesOf = async (res: Response) => Buffer.from(await res.arrayBuffer());

describe('demo origin', () => {
  it('serves a whole file with Accept-Ranges', async () => {
    const res = await fetch(`${origin.url}/a.bin`);
    expect(res.status).toBe(200);
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect((await bytesOf(res)).equals(data)).toBe(true);
  });

  it('answers a single range with 206 and Content-Range', async () => {
    const res = await fetch(`${origin.url}/a.bin`, { headers: { range: 'bytes=100-199' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe('bytes 100-199/1000');
    expect((await bytesOf(res)).equals(data.subarray(100, 200))).toBe(true);
  });

  it('answers HEAD with the size and no body bytes counted', async () => {
    const res = await fetch(`${origin.url}/a.bin`, { method: 'HEAD' });
    expect(res.headers.get('content-length')).toBe('1000');
    expect(origin.stats()).toEqual({ requests: 1, bytes: 0, authorized: 0, byFile: { 'a.bin': { requests: 1, bytes: 0 } } });
  });

  it('answers 416 past the end and 404 outside its directory', async () => {
    expect((await fetch(`${origin.url}/a.bin`, { headers: { range: 'bytes=5000-' } })).status).toBe(416);
    expect((await fetch(`${origin.url}/..%2f..%2fetc%2fpasswd`)).status).toBe(404);
    expect((await fetch(`${origin.url}/missing.bin`)).status).toBe(404);
  });

  it('counts bytes per file, readable and resettable over HTTP', async () => {
    await bytesOf(await fetch(`${origin.url}/a.bin`, { headers: { range: 'bytes=0-9' } }));
    expect(await (await fetch(`${origin.url}/_stats`)).json()).toEqual({
      requests: 1,
      bytes: 10,
      authorized: 0,
      byFile: { 'a.bin': { requests: 1, bytes: 10 } },
    });
    await fetch(`${origin.url}/_stats/reset`, { method: 'POST' });
    expect(origin.stats().bytes).toBe(0);
  });

  it('takes faults over HTTP, validates them, and applies them a limited number of times', async () => {
    const bad = await fetch(`${origin.url}/_fault`, { method: 'POST', body: JSON.stringify({ kind: 'explode' }) });
    expect(bad.status).toBe(400);
    await fetch(`${origin.url}/_fault`, { method: 'POST', body: JSON.stringify({ kind: 'flip-byte', offset: 5, times: 1 }) });
    const flipped = await bytesOf(await fetch(`${origin.url}/a.bin`));
    expect(flipped[5]).toBe(data[5] ^ 0xff);
    expect((await bytesOf(await fetch(`${origin.url}/a.bin`))).equals(data)).toBe(true);
  });

  it('ignores Range under the ignore-range fault', async () => {
    origin.setFault({ kind: 'ignore-range' });
    const res = await fetch(`${origin.url}/a.bin`, { headers: { range: 'bytes=100-199' } });
    expect(res.status).toBe(200);
    expect((await bytesOf(res)).length).toBe(1000);
  });

  it('still serves correctly when throttled', async () => {
    origin.setRate(1); // 125 kB/s: 1000 bytes still arrive, in small paced chunks
    try {
      expect((await bytesOf(await fetch(`${origin.url}/a.bin`))).equals(data)).toBe(true);
    } finally {
      origin.setRate(null);
    }
  });
});
