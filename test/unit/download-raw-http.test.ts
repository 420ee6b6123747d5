import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureFile } from '../../nodes/download';
import { FetchFailure, fetchRange, type FetchRangeArgs } from '../../nodes/download/fetch-range';
import { HttpClient } from '../../nodes/download/http-client';
import { rawStats } from '../../nodes/download/raw-http';
import { downloadFixture, FAST, type DownloadFixture } from './helpers/download-fixture';

let f: DownloadFixture | undefined;
const servers: { close(cb: () => void): unknown }[] = [];
const clients: HttpClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await f?.cleanup();
  f = undefined;
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

/** fetchRange into memory, recording what `write` saw: file offsets, bytes, and which buffers backed them. */
function sink(size: number, slow = false) {
  const file = Buffer.alloc(size);
  const backing = new Set<ArrayBufferLike>();
  let writing = 0;
  let maxWriting = 0;
  let received = 0;
  const write = async (at: number, chunks: Uint8Array[], len: number) => {
    maxWriting = Math.max(maxWriting, ++writing);
    // A slow disk: resolve a few macrotasks later, so the socket must pause and the buffers rotate.
    if (slow) for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    let pos = at;
    for (const c of chunks) {
      backing.add(c.buffer);
      file.set(c, pos);
      pos += c.byteLength;
    }
    expect(pos - at).toBe(len);
    writing--;
  };
  return {
    file,
    backing,
    write,
    get maxWriting() {
      return maxWriting;
    },
    get received() {
      return received;
    },
    onReceived: (n: number) => (received += n),
  };
}

const args = (url: string, s: ReturnType<typeof sink>, over: Partial<FetchRangeArgs>): FetchRangeArgs => ({
  url,
  headers: {},
  start: 0,
  end: null,
  ranged: true,
  bufferBytes: 256 << 10,
  stallMs: 30_000,
  signal: new AbortController().signal,
  write: s.write,
  onReceived: s.onReceived,
  client: newClient(),
  ...over,
});

function newClient(): HttpClient {
  const c = new HttpClient(1);
  clients.push(c);
  return c;
}

describe('raw HTTP client against the demo origin', () => {
  it('fetches a range copy-free through two reused buffers, pausing for a slow disk', async () => {
    f = await downloadFixture(6 << 20);
    const s = sink(f.size, true);
    const before = { ...rawStats };
    const start = 12345;
    const got = await fetchRange(args(f.url, s, { start, end: f.size }));
    expect(got).toBe(f.size - start);
    expect(s.file.subarray(start).equals(f.data.subarray(start))).toBe(true);
    expect(s.backing.size).toBeLessThanOrEqual(2); // every byte arrived in one of the two ring buffers
    expect(s.maxWriting).toBe(1);
    expect(rawStats.requests).toBe(before.requests + 1);
    expect(rawStats.fallbacks).toBe(before.fallbacks);
  });

  it('decodes a chunked body and reports a clean early end as short', async () => {
    f = await downloadFixture(2 << 20);
    f.origin.setFault({ kind: 'truncate', afterBytes: 700_000 });
    const s = sink(f.size);
    const err = await fetchRange(args(f.url, s, { start: 0, end: f.size })).catch((e) => e);
    expect(err).toBeInstanceOf(FetchFailure);
    expect(err).toMatchObject({ kind: 'short', retryable: true });
    expect(err.message).toContain(`ended after 700000 of ${f.size}`);
    expect(s.file.subarray(0, 700_000).equals(f.data.subarray(0, 700_000))).toBe(true); // kept: the resume point
  });

  it('writes what arrived before a reset, then fails retryably', async () => {
    f = await downloadFixture(2 << 20);
    f.origin.setFault({ kind: 'reset-mid-body', afterBytes: 500_000 });
    const s = sink(f.size);
    let written = 0;
    const err = await fetchRange(
      args(f.url, s, {
        start: 0,
        end: f.size,
        write: async (at, c, len) => {
          await s.write(at, c, len);
          written += len;
        },
      }),
    ).catch((e) => e);
    expect(err).toBeInstanceOf(FetchFailure);
    expect(err.retryable).toBe(true);
    expect(written).toBe(s.received);
    expect(s.file.subarray(0, written).equals(f.data.subarray(0, written))).toBe(true);
  });

  it('reports a body shorter than its Content-Length as short', async () => {
    f = await downloadFixture(1 << 20);
    f.origin.setFault({ kind: 'wrong-length', extra: 4096 });
    const s = sink(f.size + 4096);
    const err = await fetchRange(args(f.url, s, { ranged: false, end: f.size + 4096 })).catch((e) => e);
    expect(err).toMatchObject({ kind: 'short', retryable: true });
    expect(err.message).toMatch(/ended after 1048576 of 1052672/);
  });

  it('detects a stall, and an abort rejects with its reason', async () => {
    f = await downloadFixture(2 << 20);
    f.origin.setFault({ kind: 'stall', afterBytes: 100_000, ms: 2000, times: 1 });
    const err = await fetchRange(args(f.url, sink(f.size), { end: f.size, stallMs: 150 })).catch((e) => e);
    expect(err).toMatchObject({ kind: 'stall', retryable: true });

    f.origin.setFault({ kind: 'stall', afterBytes: 100_000, ms: 2000, times: 1 });
    const ctl = new AbortController();
    const reason = new Error('stop');
    const s = sink(f.size);
    const p = fetchRange(
      args(f.url, s, {
        end: f.size,
        signal: ctl.signal,
        onReceived: (n) => {
          s.onReceived(n);
          if (s.received >= 100_000) ctl.abort(reason);
        },
      }),
    );
    await expect(p).rejects.toBe(reason);
  });

  it('refuses an ignored Range and a 404 like the node:http path', async () => {
    f = await downloadFixture(1 << 20);
    f.origin.setFault({ kind: 'ignore-range' });
    await expect(fetchRange(args(f.url, sink(f.size), { start: 10, end: 100 }))).rejects.toMatchObject({ kind: 'range-ignored', retryable: false });
    await expect(fetchRange(args(`${f.origin.url}/nope`, sink(1), { end: 1 }))).rejects.toMatchObject({ kind: 'http', retryable: false });
  });

  it('follows a redirect itself, on kept-alive connections, with no fallback to node:http', async () => {
    f = await downloadFixture(1 << 20);
    const target = f.url;
    const redirect = createHttpServer((_req, res) => res.writeHead(302, { location: target, 'content-length': 0 }).end());
    servers.push(redirect);
    await new Promise<void>((r) => redirect.listen(0, '127.0.0.1', r));
    const before = { ...rawStats };
    const client = newClient();
    const from = `http://127.0.0.1:${(redirect.address() as AddressInfo).port}/x`;
    let resolved: string | undefined;
    for (let i = 0; i < 3; i++) {
      const s = sink(f.size);
      await fetchRange(args(from, s, { end: f.size, client, onResolved: (r) => (resolved = r.url) }));
      expect(s.file.equals(f.data)).toBe(true);
    }
    expect(resolved).toBe(target);
    expect(rawStats.fallbacks).toBe(before.fallbacks);
    expect(rawStats.requests).toBe(before.requests + 6); // a redirect and a body, three times
    expect(client.conns.opened).toBe(2); // one kept-alive connection per origin
    redirect.closeAllConnections();
  });

  it('fails retryably on malformed chunk framing, keeping the good bytes', async () => {
    // resume(): a socket nobody reads never sees the client's FIN and would keep the server open.
    const bad = createNetServer((sock) =>
      sock.resume().end('HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/10\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\nzz\r\n'),
    );
    servers.push(bad);
    await new Promise<void>((r) => bad.listen(0, '127.0.0.1', r));
    const s = sink(10);
    const err = await fetchRange(args(`http://127.0.0.1:${(bad.address() as AddressInfo).port}/`, s, { end: 10 })).catch((e) => e);
    expect(err).toMatchObject({ kind: 'network', retryable: true });
    expect(err.message).toContain('chunk size expected');
    expect(s.file.subarray(0, 4).toString()).toBe('abcd');
  });
});

describe('ensureFile over both HTTP paths', () => {
  it.each([true, false])('rawHttp=%s recovers from resets and truncation and verifies', async (rawHttp) => {
    f = await downloadFixture(4 << 20);
    const before = rawStats.requests;
    f.origin.setFault({ kind: 'reset-mid-body', afterBytes: 300_000, times: 2 });
    expect((await ensureFile({ url: f.url, dest: f.dest, sha256: f.sha, ...FAST, rawHttp })).bytes).toBe(f.size);
    expect(await f.destMatches()).toBe(true);
    await f.cleanup();
    f = await downloadFixture(4 << 20);
    f.origin.setFault({ kind: 'truncate', afterBytes: 100_000, times: 3 });
    expect((await ensureFile({ url: f.url, dest: f.dest, sha256: f.sha, ...FAST, rawHttp })).bytes).toBe(f.size);
    expect(await f.destMatches()).toBe(true);
    // The probes (one HEAD per call) always take the raw client; the bodies only with rawHttp.
    expect(rawStats.requests - before > 2).toBe(rawHttp);
  });
});
