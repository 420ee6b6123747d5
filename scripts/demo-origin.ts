import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { open, realpath, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AddressInfo, Socket } from 'node:net';
import { FaultSchema, FaultSlot, corrupt, cutAt, type Fault, type FaultInput } from './demo-origin-faults';
import * as z from 'zod';
import { Throttle } from './demo-origin-throttle';

const RateSchema = z.object({ mbps: z.number().positive().nullable() });

/**
 * Demo weights origin: serves files under `dir` with single-range support, an origin-wide rate
 * limit, counters and injectable faults. Used by `npm start` (demo GGUFs) and by the downloader
 * tests, which need a real HTTP peer that can misbehave on demand.
 */
export interface DemoOriginOptions {
  dir: string;
  port?: number;
  host?: string;
  /** megabits per second for the whole origin; default env PORTEN_DEMO_ORIGIN_RATE_MBPS, else unthrottled */
  rateMbps?: number;
  /** serve https with this key and certificate (a CDN stand-in; see scripts/test-ca.ts) */
  tls?: { key: string; cert: string };
  /**
   * Like a CDN behind Hugging Face: file requests need a URL signed with this key (see signedPath),
   * else 403; the signature covers the path and an expiry.
   */
  signingKey?: string;
  /** answer HEAD with 403, as S3 does for a URL presigned for GET */
  refuseHead?: boolean;
}

export interface OriginStats {
  requests: number;
  bytes: number;
  /** requests that carried an Authorization header (a CDN must never see one) */
  authorized: number;
  byFile: Record<string, { requests: number; bytes: number }>;
}

export interface DemoOrigin {
  url: string;
  port: number;
  stats(): OriginStats;
  resetStats(): void;
  setRate(mbps: number | null): void;
  setFault(fault: FaultInput | null): void;
  close(): Promise<void>;
}

const CHUNK = 512 << 10;

export async function startDemoOrigin(opts: DemoOriginOptions): Promise<DemoOrigin> {
  const root = await realpath(opts.dir);
  const envRate = Number(process.env.PORTEN_DEMO_ORIGIN_RATE_MBPS);
  const throttle = new Throttle(opts.rateMbps ?? (Number.isFinite(envRate) ? envRate : undefined));
  const faults = new FaultSlot();
  const fresh = (): OriginStats => ({ requests: 0, bytes: 0, authorized: 0, byFile: {} });
  let stats: OriginStats = fresh();
  const sockets = new Set<Socket>();

  const count = (file: string, requests: number, bytes: number) => {
    stats.requests += requests;
    stats.bytes += bytes;
    const f = (stats.byFile[file] ??= { requests: 0, bytes: 0 });
    f.requests += requests;
    f.bytes += bytes;
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) json(res, 500, { error: String(err) });
      else res.destroy();
    });
  };
  const server = opts.tls ? createTlsServer({ key: opts.tls.key, cert: opts.tls.cert }, onRequest) : createServer(onRequest);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reqUrl = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(reqUrl.pathname);
    if (path === '/_stats' && req.method === 'GET') return json(res, 200, stats);
    if (path === '/_stats/reset' && req.method === 'POST') {
      stats = fresh();
      return json(res, 200, { ok: true });
    }
    if (path === '/_fault' && req.method === 'POST') {
      let body: unknown;
      try {
        body = JSON.parse(await readBody(req));
      } catch {
        return json(res, 400, { error: 'body must be JSON' });
      }
      if (body === null) {
        faults.set(null);
        return json(res, 200, { fault: null });
      }
      const parsed = FaultSchema.safeParse(body);
      if (!parsed.success) return json(res, 400, { error: parsed.error.message });
      faults.set(parsed.data);
      return json(res, 200, { fault: parsed.data });
    }
    if (path === '/_rate' && req.method === 'POST') {
      const parsed = RateSchema.safeParse(
        await readBody(req)
          .then((b) => JSON.parse(b) as unknown)
          .catch(() => undefined),
      );
      if (!parsed.success) return json(res, 400, { error: 'body must be {"mbps": number | null}' });
      throttle.setRate(parsed.data.mbps);
      return json(res, 200, parsed.data);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'method not allowed' });
    if (req.headers.authorization) stats.authorized++;
    if (opts.refuseHead && req.method === 'HEAD') return json(res, 403, { error: 'HEAD is not signed for' });
    if (opts.signingKey) {
      const why = checkSignature(opts.signingKey, reqUrl.pathname, reqUrl.searchParams, Date.now());
      if (why) return json(res, 403, { error: why });
    }

    const file = path.replace(/^\/+/, '');
    const full = resolve(root, file);
    if (!full.startsWith(root + sep)) return json(res, 404, { error: 'not found' });
    const st = await stat(full).catch(() => null);
    if (!st?.isFile()) return json(res, 404, { error: 'not found' });
    count(file, 1, 0);

    const size = st.size;
    const range = parseRange(req.headers.range, size);
    res.setHeader('accept-ranges', 'bytes');
    res.setHeader('content-type', 'application/octet-stream');
    res.setHeader('etag', `"${size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`);
    res.setHeader('last-modified', st.mtime.toUTCString());
    if (range === 'unsatisfiable') {
      res.setHeader('content-range', `bytes */${size}`);
      return json(res, 416, { error: 'range not satisfiable' });
    }
    if (req.method === 'HEAD') {
      const lie = faults.peek(file);
      res.setHeader('content-length', size + (lie?.kind === 'wrong-length' ? lie.extra : 0));
      res.end();
      return;
    }
    const fault = faults.take(file);
    const useRange = range !== null && fault?.kind !== 'ignore-range';
    const start = useRange ? range.start : 0;
    const end = useRange ? range.end : size; // exclusive
    if (useRange) {
      res.statusCode = 206;
      res.setHeader('content-range', `bytes ${start}-${end - 1}/${size}`);
    }
    if (fault?.kind !== 'truncate') res.setHeader('content-length', end - start + (fault?.kind === 'wrong-length' ? fault.extra : 0));
    await sendBody(res, full, start, end, fault, (n) => count(file, 0, n));
  }

  async function sendBody(res: ServerResponse, full: string, start: number, end: number, fault: Fault | null, onSent: (n: number) => void) {
    const fh = await open(full, 'r');
    let closed = false;
    res.on('close', () => (closed = true));
    try {
      let pos = start;
      let sent = 0;
      let cut = cutAt(fault);
      while (pos < end && !closed) {
        if (sent === cut && fault) {
          if (fault.kind === 'reset-mid-body') return void res.socket?.destroy();
          if (fault.kind === 'truncate') return void res.end();
          if (fault.kind === 'stall') {
            await new Promise((r) => setTimeout(r, fault.ms));
            cut = Infinity;
            continue;
          }
        }
        const n = Math.min(throttle.chunkBytes(CHUNK), end - pos, cut - sent);
        await throttle.take(n);
        if (closed) break;
        const buf = Buffer.allocUnsafe(n);
        const { bytesRead } = await fh.read(buf, 0, n, pos);
        if (bytesRead <= 0) throw new Error('file shrank while serving');
        const chunk = buf.subarray(0, bytesRead);
        corrupt(fault, chunk, pos);
        pos += bytesRead;
        sent += bytesRead;
        onSent(bytesRead);
        if (!res.write(chunk)) await drained(res);
      }
      if (closed) return;
      // Declared more than we send: close the connection so the client sees the body end early.
      if (fault?.kind === 'wrong-length') return void res.socket?.end();
      res.end();
    } finally {
      await fh.close();
    }
  }

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host ?? '127.0.0.1';
  return {
    url: `${opts.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    stats: () => structuredClone(stats),
    resetStats: () => void (stats = fresh()),
    setRate: (mbps) => throttle.setRate(mbps),
    setFault: (f) => faults.set(f),
    close: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}

const sign = (key: string, path: string, expires: number) => createHmac('sha256', key).update(`${path}\n${expires}`).digest('hex');

/** `path?X-Amz-Expires…&X-Amz-Signature=…`: a URL the signing origin accepts until `expiresAt` (ms). */
export function signedPath(key: string, path: string, expiresAt: number): string {
  const expires = Math.floor(expiresAt / 1000);
  return `${path}?X-Amz-Date=${expires}&X-Amz-Signature=${sign(key, path, expires)}`;
}

/** null when the signature is good and fresh, else why not (as a CDN would answer 403). */
function checkSignature(key: string, path: string, q: URLSearchParams, now: number): string | null {
  const expires = Number(q.get('X-Amz-Date'));
  const got = Buffer.from(q.get('X-Amz-Signature') ?? '', 'hex');
  const want = Buffer.from(sign(key, path, expires), 'hex');
  if (!Number.isFinite(expires) || got.length !== want.length || !timingSafeEqual(got, want)) return 'SignatureDoesNotMatch';
  return expires * 1000 < now ? 'Request has expired' : null;
}

/** Single byte range per RFC 9110; multiple ranges or garbage are ignored (200), as the RFC allows. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const n = Math.min(Number(m[2]), size);
    return n === 0 ? 'unsatisfiable' : { start: size - n, end: size };
  }
  const start = Number(m[1]);
  const last = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || last < start) return 'unsatisfiable';
  return { start, end: last + 1 };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((r) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      r();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((ok, fail) => {
    let s = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (s += c));
    req.on('end', () => ok(s));
    req.on('error', fail);
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const arg = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const dir = arg('--dir');
  if (!dir) {
    console.error('usage: node --import tsx scripts/demo-origin.ts --dir DIR [--port N] [--host H] [--rate-mbps X]');
    process.exit(2);
  }
  const rate = arg('--rate-mbps');
  startDemoOrigin({ dir, port: Number(arg('--port') ?? 0), host: arg('--host'), rateMbps: rate === undefined ? undefined : Number(rate) }).then((o) => {
    console.log(`demo origin serving ${resolve(dir)} at ${o.url}`);
    const stop = () => o.close().then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
