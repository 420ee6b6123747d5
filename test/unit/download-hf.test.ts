import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureFile, type DownloadError } from '../../nodes/download';
import { ensureModelFiles } from '../../nodes/download/model-files';
import { fetchRange } from '../../nodes/download/fetch-range';
import { HttpClient } from '../../nodes/download/http-client';
import { rawStats } from '../../nodes/download/raw-http';
import { signedPath } from '../../scripts/demo-origin';
import { startHfStack, type HfStack } from '../../scripts/hf-origin';
import { makeTestCa, trustCa, type TestCa } from '../../scripts/test-ca';
import { FAST } from './helpers/download-fixture';

/*
 * hf:// over https against STAND-INS for Hugging Face and its CDN (scripts/hf-origin.ts): the Hub
 * on https://localhost answers 302 with x-linked-etag / x-linked-size to a CDN on
 * https://127.0.0.1 whose URLs are signed and expire. TLS is verified for real, against a CA made
 * for the run (trusted in-process with tls.setDefaultCACertificates; agents get NODE_EXTRA_CA_CERTS).
 */
let ca: TestCa;
let root: string;
let stack: HfStack | undefined;
const TOKEN = 'hf_testtokenabcdefghijklmnopqrstuvwxyz12';
let untrust: () => void;

beforeAll(() => {
  ca = makeTestCa();
  untrust = trustCa(ca.caPem);
});
afterAll(() => {
  untrust();
  ca.cleanup();
});
afterEach(async () => {
  await stack?.close();
  stack = undefined;
  await rm(root, { recursive: true, force: true });
});

async function repoFile(repoPath: string, size: number): Promise<{ data: Buffer; sha: string }> {
  const data = randomBytes(size);
  await mkdir(join(root, 'origin', repoPath, '..'), { recursive: true });
  await writeFile(join(root, 'origin', repoPath), data);
  return { data, sha: createHash('sha256').update(data).digest('hex') };
}

async function start(o: Parameters<typeof startHfStack>[2] = {}): Promise<HfStack> {
  stack = await startHfStack(join(root, 'origin'), { key: ca.key, cert: ca.cert }, { gated: ['meta/gated'], tokens: [TOKEN], ...o });
  return stack;
}

const dest = (name = 'm.gguf') => join(root, 'models', name);
const hf = (s: HfStack, token?: string) => ({ endpoint: s.hf.url, token });

describe('hf:// through a redirect to a CDN host, over TLS', () => {
  it('verifies against x-linked-etag, sends the token to the Hub only, and fetches pieces from the CDN on kept-alive connections', async () => {
    root = await mkdtemp(join(tmpdir(), 'porten-hf-'));
    const f = await repoFile('org/repo/model.gguf', 40 << 20);
    const s = await start();
    const before = { ...rawStats };
    const r = await ensureFile({ url: 'hf://org/repo/model.gguf', dest: dest(), requireDigest: true, hf: hf(s, TOKEN), ...FAST });
    expect(r).toMatchObject({ bytes: f.data.length, reused: false, sha256: f.sha });
    expect((await readFile(dest())).equals(f.data)).toBe(true);
    // 40 MB = 3 pieces of 16 MB on 3 connections, plus the HEAD: all through the raw client.
    expect(rawStats.fallbacks).toBe(before.fallbacks);
    expect(s.cdn.stats().authorized).toBe(0);
    expect(s.hf.stats().authorized).toBe(s.hf.stats().requests);
    // Pieces go straight to the CDN once the first redirect is known: the Hub sees the probe and the first piece(s) only.
    expect(s.hf.stats().requests).toBeLessThanOrEqual(1 + 3);
  });

  it('plain https:// over four kept-alive connections: every byte in place', async () => {
    root = await mkdtemp(join(tmpdir(), 'porten-hf-'));
    const f = await repoFile('org/repo/direct.bin', 24 << 20);
    const s = await start();
    const url = `${s.cdn.url}${signedPath(s.signingKey, '/org/repo/direct.bin', Date.now() + 60_000)}`;
    const r = await ensureFile({ url, dest: dest(), sha256: f.sha, segments: 4, ...FAST });
    expect(r.sha256).toBe(f.sha);
  });

  it('TLS records that arrive after a pause are kept in order, and the connection stays usable for the next piece', async () => {
    root = await mkdtemp(join(tmpdir(), 'porten-hf-'));
    const f = await repoFile('org/repo/direct.bin', 8 << 20);
    const s = await start();
    const url = `${s.cdn.url}${signedPath(s.signingKey, '/org/repo/direct.bin', Date.now() + 60_000)}`;
    const client = new HttpClient(1);
    const got = Buffer.alloc(f.data.length);
    const before = rawStats.stashedReads;
    try {
      for (let piece = 0; piece < 4; piece++) {
        const start = piece * (2 << 20);
        await fetchRange({
          url,
          headers: {},
          start,
          end: start + (2 << 20),
          ranged: true,
          bufferBytes: 64 << 10,
          stallMs: 5000,
          signal: new AbortController().signal,
          client,
          onReceived: () => {},
          // A slow disk: both buffers are often being written, so the socket pauses mid-stream.
          write: async (at, chunks) => {
            for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
            for (const c of chunks) {
              got.set(c, at);
              at += c.byteLength;
            }
          },
        });
      }
    } finally {
      client.close();
    }
    expect(got.equals(f.data)).toBe(true);
    expect(client.conns.opened).toBe(1);
    expect(rawStats.stashedReads).toBeGreaterThan(before);
  });

  it('accepts `@revision` after the file and reuses the verified file without asking the network', async () => {
    root = await mkdtemp(join(tmpdir(), 'porten-hf-'));
    await repoFile('org/repo/small.gguf', 1 << 20);
    const s = await start();
    await ensureFile({ url: 'hf://org/repo/small.gguf@main', dest: dest(), requireDigest: true, hf: hf(s), ...FAST });
    const seen = s.hf.stats().requests + s.cdn.stats().requests;
    const again = await ensureFile({ url: 'hf://org/repo/small.gguf@main', dest: dest(), requireDigest: true, hf: hf(s), ...FAST });
    expect(again.reused).toBe(true);
    expect(s.hf.stats().requests + s.cdn.stats().requests).toBe(seen);
  });

  it('falls back to a ranged GET when the CDN refuses HEAD', async () => {
    root = await mkdtemp(join(tmpdir(), 'porten-hf-'));
    const f = await repoFile('org/repo/model.gguf', 3 << 20);
    const s = await start({ cdnRefusesHead: true });
    const r = await ensureFile({ url: 'hf://org/repo/model.gguf', dest: dest(), requireDigest: true, hf: hf(s), ...FAST });
    expect(r.sha256).toBe(f.sha);
  });

  it('resolves again when the signed CDN URL expires mid-download', async () => {
    root = await mkdtemp(join(tmpdir(), 'porten-hf-'));
    const f = await repoFile('org/repo/model.gguf', 40 << 20);
    const s = await start({ signedForMs: -1000 }); // every signed URL is already expired: each piece must go back to the Hub
    s.hf.setSignedForMs(-1000);
    const err = (await ensureFile({ url: 'hf://org/repo/model.gguf', dest: dest(), hf: hf(s), ...FAST, retries: 2 }).catch((e) => e)) as DownloadError;
    expect(err.code).toBe('download_failed');
    expect(err.message).not.toMatch(/Signature=|X-Amz-Date=/); // the signed URL never appears
    s.hf.setSignedForMs(600_000);
    const r = await ensureFile({ url: 'hf://org/repo/model.gguf', dest: dest(), hf: hf(s), ...FAST });
    expect(r.sha256).toBe(f.sha);
  });

  it.each([
    ['no token', undefined, /Hugging Face answered HTTP 401 for meta\/gated\/m\.gguf@main: the model is gated or private; .*set HF_TOKEN/],
    ['a wrong token', 'hf_wrongtokenwrongtokenwrongtoken12', /Hugging Face refused HF_TOKEN \(HTTP 401\) for meta\/gated\/m\.gguf@main/],
  ])('a gated repository with %s: a clear reason, no file, no token in the message', async (_n, token, message) => {
    root = await mkdtemp(join(tmpdir(), 'porten-hf-'));
    await repoFile('meta/gated/m.gguf', 1 << 20);
    const s = await start();
    const err = (await ensureFile({ url: 'hf://meta/gated/m.gguf', dest: dest(), hf: hf(s, token), ...FAST }).catch((e) => e)) as DownloadError;
    expect(err.code).toBe('download_failed');
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain('hf_wrong');
    expect(existsSync(dest())).toBe(false);
    const ok = await ensureFile({ url: 'hf://meta/gated/m.gguf', dest: dest(), hf: hf(s, TOKEN), ...FAST });
    expect(ok.reused).toBe(false);
  });

  it('refuses a file no sha256 vouches for, unless allowed', async () => {
    root = await mkdtemp(join(tmpdir(), 'porten-hf-'));
    const f = await repoFile('org/repo/plain.gguf', 1 << 20);
    const s = await start({ noLinkedEtag: ['org/repo/plain.gguf'] });
    const err = (await ensureFile({ url: 'hf://org/repo/plain.gguf', dest: dest(), requireDigest: true, hf: hf(s), ...FAST }).catch((e) => e)) as DownloadError;
    expect(err.code).toBe('verify_failed');
    expect(err.message).toMatch(/no sha256 for org\/repo\/plain\.gguf@main: .*weights\.allow_unverified/);
    expect(s.cdn.stats().bytes).toBe(0); // refused before a body byte
    const r = await ensureFile({ url: 'hf://org/repo/plain.gguf', dest: dest(), requireDigest: false, hf: hf(s), ...FAST });
    expect(r).toMatchObject({ sha256: null, bytes: f.data.length });
  });

  it('a pinned sha256 that disagrees with the origin is refused before downloading', async () => {
    root = await mkdtemp(join(tmpdir(), 'porten-hf-'));
    await repoFile('org/repo/model.gguf', 1 << 20);
    const s = await start();
    const err = (await ensureFile({ url: 'hf://org/repo/model.gguf', dest: dest(), sha256: 'a'.repeat(64), hf: hf(s), ...FAST }).catch(
      (e) => e,
    )) as DownloadError;
    expect(err).toMatchObject({ code: 'verify_failed', message: expect.stringMatching(/catalog pins sha256 a{64} .* but the origin says [0-9a-f]{64}/) });
    expect(s.cdn.stats().bytes).toBe(0);
  });

  it.each([
    ['a redirect loop', 'hf://loop/loop/m.gguf', /redirect loop/],
    ['a missing file', 'hf://org/repo/nope.gguf', /org\/repo\/nope\.gguf@main does not exist on the origin \(HTTP 404\): check the repository/],
  ])('%s gets a clear reason', async (_n, url, message) => {
    root = await mkdtemp(join(tmpdir(), 'porten-hf-'));
    await repoFile('org/repo/model.gguf', 1024);
    const s = await start({ loops: ['loop/loop'] });
    await expect(ensureFile({ url, dest: dest(), hf: hf(s), ...FAST })).rejects.toMatchObject({
      code: 'download_failed',
      message: expect.stringMatching(message),
    });
  });

  it('an unreachable Hub: a clear reason naming the host', async () => {
    root = await mkdtemp(join(tmpdir(), 'porten-hf-'));
    const err = (await ensureFile({ url: 'hf://org/repo/m.gguf', dest: dest(), hf: { endpoint: 'https://127.0.0.1:1' }, ...FAST }).catch(
      (e) => e,
    )) as DownloadError;
    expect(err).toMatchObject({ code: 'download_failed', message: expect.stringMatching(/cannot reach origin 127\.0\.0\.1:1: ECONNREFUSED/) });
  });

  it('downloads every part of a split GGUF as one model', async () => {
    root = await mkdtemp(join(tmpdir(), 'porten-hf-'));
    const parts = [
      await repoFile('org/split/m-00001-of-00003.gguf', 2 << 20),
      await repoFile('org/split/m-00002-of-00003.gguf', 2 << 20),
      await repoFile('org/split/m-00003-of-00003.gguf', 1 << 20),
    ];
    const s = await start();
    const seen: number[] = [];
    const r = await ensureModelFiles({
      url: 'hf://org/split/m-00001-of-00003.gguf',
      dir: join(root, 'models'),
      stem: 'my-model',
      requireDigest: true,
      hf: hf(s),
      onProgress: (p) => seen.push(p.doneBytes),
      tuning: FAST,
    });
    expect(r.path).toBe(join(root, 'models', 'my-model-00001-of-00003.gguf'));
    expect(r.bytes).toBe(5 << 20);
    expect(r.parts.map((p) => p.sha256)).toEqual(parts.map((p) => p.sha));
    for (const [i, p] of parts.entries()) expect((await readFile(join(root, 'models', `my-model-0000${i + 1}-of-00003.gguf`))).equals(p.data)).toBe(true);
    expect(seen.at(-1)).toBe(5 << 20);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]);
  });
});
