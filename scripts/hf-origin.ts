import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { resolve, sep } from 'node:path';
import { signedPath } from './demo-origin';

/**
 * STAND-IN for huggingface.co (there is no internet here): an https origin that answers like the
 * Hub's `resolve` endpoint, so the agent's hf:// path is tested against the behaviour it must
 * handle. `GET|HEAD /{org}/{repo}/resolve/{revision}/{path}` answers 302 to a CDN (another local
 * origin, see demo-origin.ts `signingKey`) with a URL signed to expire, plus `x-linked-etag` (the
 * file's sha256, quoted) and `x-linked-size`, as the Hub does for LFS files. Gated repositories
 * answer 401 (`x-error-code: GatedRepo`) without a valid `Authorization: Bearer` token; unknown
 * files 404 (`EntryNotFound`). Files live under `dir` as `{org}/{repo}/{path}`, which is also the
 * path the CDN serves.
 */
export interface HfOriginOptions {
  dir: string;
  tls: { key: string; cert: string };
  /** the CDN's base URL, e.g. https://127.0.0.1:PORT */
  cdnUrl: string;
  signingKey: string;
  /** `org/repo` ids that need a token */
  gated?: string[];
  /** tokens the origin accepts */
  tokens?: string[];
  /** `org/repo/path` files the origin sends no x-linked-etag for (a file outside LFS) */
  noLinkedEtag?: string[];
  /** `org/repo` ids whose resolve redirects to itself, forever */
  loops?: string[];
  /** how long a signed CDN URL stays valid (default 10 min) */
  signedForMs?: number;
  host?: string;
  port?: number;
}

export interface HfOrigin {
  url: string;
  /** requests seen, and how many carried a token */
  stats(): { requests: number; authorized: number };
  setSignedForMs(ms: number): void;
  close(): Promise<void>;
}

export async function startHfOrigin(o: HfOriginOptions): Promise<HfOrigin> {
  const root = await realpath(o.dir);
  const digests = new Map<string, Promise<string>>();
  const stats = { requests: 0, authorized: 0 };
  let signedForMs = o.signedForMs ?? 600_000;
  const sockets = new Set<Duplex>();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    stats.requests++;
    const auth = req.headers.authorization;
    if (auth) stats.authorized++;
    const url = new URL(req.url ?? '/', 'https://x');
    const m = /^\/([^/]+)\/([^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (!m || (req.method !== 'GET' && req.method !== 'HEAD')) return answer(res, 404, { error: 'not found' }, 'RepoNotFound');
    const [, org, repo, , rawPath] = m;
    const repoId = `${org}/${repo}`;
    if (o.loops?.includes(repoId)) {
      res.writeHead(302, { location: url.pathname, 'content-length': 0 });
      return void res.end();
    }
    if (o.gated?.includes(repoId)) {
      const token = /^Bearer (.+)$/.exec(auth ?? '')?.[1];
      if (!token || !o.tokens?.includes(token)) {
        return answer(
          res,
          401,
          { error: `Access to model ${repoId} is restricted. You must have access to it and be authenticated to access it.` },
          'GatedRepo',
        );
      }
    }
    const filePath = `${repoId}/${decodeURIComponent(rawPath)}`;
    const full = resolve(root, filePath);
    const st = full.startsWith(root + sep) ? await stat(full).catch(() => null) : null;
    if (!st?.isFile()) return answer(res, 404, { error: 'Entry not found' }, 'EntryNotFound');
    const headers: Record<string, string | number> = {
      location: `${o.cdnUrl}${signedPath(o.signingKey, `/${filePath.split('/').map(encodeURIComponent).join('/')}`, Date.now() + signedForMs)}`,
      'content-length': 0,
      'x-repo-commit': '0123456789abcdef0123456789abcdef01234567',
    };
    if (!o.noLinkedEtag?.includes(filePath)) {
      let d = digests.get(full);
      if (!d) digests.set(full, (d = sha256Of(full)));
      headers['x-linked-etag'] = `"${await d}"`;
      headers['x-linked-size'] = st.size;
    }
    res.writeHead(302, headers);
    res.end();
  };

  const server = createServer({ key: o.tls.key, cert: o.tls.cert }, (req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) answer(res, 500, { error: String(err) });
      else res.destroy();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const host = o.host ?? 'localhost';
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(o.port ?? 0, host === 'localhost' ? '127.0.0.1' : host, () => ok());
  });
  return {
    url: `https://${host}:${(server.address() as AddressInfo).port}`,
    stats: () => ({ ...stats }),
    setSignedForMs: (ms) => void (signedForMs = ms),
    close: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}

function answer(res: ServerResponse, status: number, body: unknown, errorCode?: string): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...(errorCode ? { 'x-error-code': errorCode } : {}) });
  res.end(text);
}

function sha256Of(file: string): Promise<string> {
  return new Promise((ok, fail) => {
    const h = createHash('sha256');
    createReadStream(file, { highWaterMark: 1 << 20 })
      .on('data', (c) => h.update(c))
      .on('end', () => ok(h.digest('hex')))
      .on('error', fail);
  });
}

export interface HfStack {
  hf: HfOrigin;
  cdn: import('./demo-origin').DemoOrigin;
  signingKey: string;
  close(): Promise<void>;
}

/** The Hugging Face stand-in and its CDN (https, another host: 127.0.0.1 while the Hub is `localhost`), both serving `dir`. */
export async function startHfStack(
  dir: string,
  tls: { key: string; cert: string },
  o: Omit<HfOriginOptions, 'dir' | 'tls' | 'cdnUrl' | 'signingKey'> & { cdnRateMbps?: number; cdnRefusesHead?: boolean } = {},
): Promise<HfStack> {
  const { startDemoOrigin } = await import('./demo-origin');
  const signingKey = `sk-${Math.random().toString(36).slice(2)}`;
  const cdn = await startDemoOrigin({ dir, tls, signingKey, refuseHead: o.cdnRefusesHead, rateMbps: o.cdnRateMbps });
  const hf = await startHfOrigin({ ...o, dir, tls, cdnUrl: cdn.url, signingKey });
  return {
    hf,
    cdn,
    signingKey,
    close: async () => {
      await hf.close();
      await cdn.close();
    },
  };
}

// CLI: node --import tsx scripts/hf-origin.ts --dir DIR --key KEY.pem --cert CERT.pem [--cdn-refuses-head]
// prints "hf origin at https://localhost:P cdn at https://127.0.0.1:Q" (benchmarks run it as its own process).
if (process.argv[1] && import.meta.url === (await import('node:url')).pathToFileURL(resolve(process.argv[1])).href) {
  const { readFileSync } = await import('node:fs');
  const args = process.argv.slice(2);
  const arg = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const [dir, key, cert] = [arg('--dir'), arg('--key'), arg('--cert')];
  if (!dir || !key || !cert) {
    console.error('usage: node --import tsx scripts/hf-origin.ts --dir DIR --key KEY.pem --cert CERT.pem [--cdn-refuses-head]');
    process.exit(2);
  }
  const s = await startHfStack(
    dir,
    { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') },
    { cdnRefusesHead: args.includes('--cdn-refuses-head') },
  );
  console.log(`hf origin at ${s.hf.url} cdn at ${s.cdn.url}`);
  const stop = () => s.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
