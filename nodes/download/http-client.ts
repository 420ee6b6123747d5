import { ConnPool } from './conn-pool';
import type { ResponseHead } from './http-head';
import { BufferPool, rawRequest } from './raw-http';

export const MAX_REDIRECTS = 5;

/** A redirect the client will not follow: too many, a loop, a downgrade to http, or no usable Location. */
export class RedirectError extends Error {
  override name = 'RedirectError';
}

/** Where a request ended up after redirects, with the headers that are still valid there. */
export interface Resolved {
  url: string;
  headers: Record<string, string>;
}

export interface FollowArgs {
  method?: 'GET' | 'HEAD';
  url: string;
  headers: Record<string, string>;
  signal: AbortSignal;
  bufferBytes?: number;
  /** Every redirect response, before it is followed (Hugging Face puts `x-linked-etag` on its 302). */
  onRedirect?(head: ResponseHead, from: URL): void;
  /** The final response's head: 'body' to receive it, 'skip' to drop it; throw to refuse it. */
  onHead(head: ResponseHead): 'body' | 'skip';
  onBody?(n: number): void;
  write?(parts: Uint8Array[], len: number): Promise<void>;
}

const isRedirect = (h: ResponseHead) => h.status >= 300 && h.status < 400 && h.status !== 304 && h.headers.location !== undefined;

/** Headers that carry credentials: never sent to another origin after a redirect. */
const CREDENTIALS = new Set(['authorization', 'cookie', 'proxy-authorization']);

/**
 * The downloader's HTTP client for one job: kept-alive connections per origin (http and https) and
 * the read buffers its requests share. `follow` handles redirects itself, so the raw, copy-free
 * path also serves Hugging Face's 302 to its CDN: at most MAX_REDIRECTS hops, no loops, never from
 * https to http, and credentials (HF_TOKEN's Authorization) are dropped as soon as a redirect leaves
 * the origin they were meant for, so a CDN never sees them.
 */
export class HttpClient {
  readonly conns = new ConnPool();
  readonly buffers: BufferPool;

  constructor(connections = 4) {
    this.buffers = new BufferPool(2 * Math.max(1, connections) + 2);
  }

  async follow(a: FollowArgs): Promise<{ head: ResponseHead } & Resolved> {
    let current = new URL(a.url);
    let headers = { ...a.headers };
    const seen = new Set([current.href]);
    for (let hop = 0; ; hop++) {
      let redirect = false;
      const head = await rawRequest({
        conns: this.conns,
        method: a.method,
        url: current,
        headers,
        signal: a.signal,
        bufferBytes: a.bufferBytes ?? 64 << 10,
        pool: this.buffers,
        onHead: (h) => {
          redirect = isRedirect(h);
          return redirect ? 'skip' : a.onHead(h);
        },
        onBody: (n) => a.onBody?.(n),
        write: (parts, len) => a.write?.(parts, len) ?? Promise.resolve(),
      });
      if (!redirect) return { head, url: current.href, headers };
      if (hop >= MAX_REDIRECTS) throw new RedirectError(`too many redirects (more than ${MAX_REDIRECTS}) from ${a.url}`);
      let next: URL;
      try {
        next = new URL(head.headers.location, current);
      } catch {
        throw new RedirectError(`unusable redirect Location from ${current.origin}`);
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new RedirectError(`refusing a redirect to ${next.protocol} from ${current.origin}`);
      if (current.protocol === 'https:' && next.protocol === 'http:') throw new RedirectError(`refusing a redirect from https to plain http (${next.origin})`);
      if (seen.has(next.href)) throw new RedirectError(`redirect loop at ${next.origin}${next.pathname}`);
      seen.add(next.href);
      a.onRedirect?.(head, current);
      if (next.origin !== current.origin) headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !CREDENTIALS.has(k.toLowerCase())));
      current = next;
    }
  }

  close(): void {
    this.conns.close();
  }
}
