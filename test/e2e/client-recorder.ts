import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';

/** One request a client sent through the recorder, and how the edge answered it. */
export interface Exchange {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The parsed JSON body, or the raw text when it is not JSON (undefined when empty). */
  body: unknown;
  status: number;
  contentType: string;
  /** The response body as text, decoded if compressed (capped at 1 MiB): SSE events for streams, JSON otherwise. */
  response: string;
  /** True when the edge ended the response before the client hung up (a client may leave right after `[DONE]`). */
  complete: boolean;
  /** When the request arrived and when the exchange was over (ms since the epoch; 0 while in progress). */
  startedAt: number;
  endedAt: number;
  /** Settles when the exchange is over: the edge ended the response, or either side broke it off. */
  done: Promise<void>;
}

export interface Recorder {
  /** Base URL to give the client, e.g. `http://127.0.0.1:PORT/v1`. */
  url: string;
  exchanges: Exchange[];
  /**
   * Runs `client` and returns its result with the exchanges it made, once each is
   * over: a client may finish reading before the proxy has seen the edge end the
   * response, so this waits for the recording, not only for the client.
   */
  during<T>(client: () => Promise<T>): Promise<{ result: T; sent: Exchange[] }>;
  close(): Promise<void>;
}

const RESPONSE_CAP = 1 << 20;

/**
 * A transparent HTTP proxy in front of the edge that records exactly what a
 * client sends (method, path, headers, body) and what the edge answers, so the
 * client tests can assert on the wire rather than on what the client chose to
 * surface. Responses are piped through as they arrive, so streams stay streams.
 * It never changes a byte in either direction.
 */
export async function startRecorder(edgeUrl: string): Promise<Recorder> {
  const target = new URL(edgeUrl);
  const exchanges: Exchange[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const text = raw.toString('utf8');
      let body: unknown;
      if (text) {
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
      }
      let resolveDone = () => {};
      const ex: Exchange = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        body,
        status: 0,
        contentType: '',
        response: '',
        complete: false,
        startedAt: Date.now(),
        endedAt: 0,
        done: new Promise<void>((resolve) => (resolveDone = resolve)),
      };
      exchanges.push(ex);
      const received: Buffer[] = [];
      let size = 0;
      let encoding = '';
      let settled = false;
      // Records what arrived (also when either side broke the exchange off) and releases `done`, once.
      const settle = (complete: boolean) => {
        if (settled) return;
        settled = true;
        ex.complete = complete;
        ex.endedAt = Date.now();
        if (!ex.response) ex.response = decode(Buffer.concat(received), encoding);
        resolveDone();
      };
      const headers = { ...req.headers, host: target.host };
      const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (up) => {
        ex.status = up.statusCode ?? 0;
        ex.contentType = String(up.headers['content-type'] ?? '');
        encoding = String(up.headers['content-encoding'] ?? '');
        res.writeHead(ex.status, up.headers);
        up.on('data', (c: Buffer) => {
          if (size < RESPONSE_CAP) received.push(c);
          size += c.length;
          res.write(c);
        });
        up.on('end', () => {
          settle(true);
          res.end();
        });
        up.on('error', () => {
          settle(false);
          res.destroy();
        });
      });
      upstream.on('error', (err) => {
        ex.status = 502;
        ex.response = `recorder: edge unreachable: ${err.message}`;
        settle(false);
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      // A client that leaves mid-stream must cancel the upstream request too, as it would without the recorder.
      res.on('close', () => {
        if (res.writableFinished) return;
        upstream.destroy();
        settle(false);
      });
      upstream.end(raw);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    exchanges,
    async during(client) {
      const from = exchanges.length;
      const result = await client();
      const sent = exchanges.slice(from);
      await Promise.all(sent.map((e) => e.done));
      return { result, sent };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function decode(raw: Buffer, encoding: string): string {
  try {
    if (encoding === 'gzip') return zlib.gunzipSync(raw).toString('utf8');
    if (encoding === 'br') return zlib.brotliDecompressSync(raw).toString('utf8');
    if (encoding === 'deflate') return zlib.inflateSync(raw).toString('utf8');
  } catch {
    return `recorder: could not decode ${encoding} body of ${raw.length} bytes`;
  }
  return raw.toString('utf8');
}

/** The `data:` payloads of a recorded SSE response, parsed; `[DONE]` is kept as the string. */
export function sseEvents(ex: Exchange): unknown[] {
  return ex.response
    .split('\n\n')
    .map((e) => e.trim())
    .filter((e) => e.startsWith('data: '))
    .map((e) => e.slice('data: '.length))
    .map((d) => (d === '[DONE]' ? d : (JSON.parse(d) as unknown)));
}

/** The top-level keys of a recorded JSON body, sorted: what a client sends, for the findings in docs/clients.md. */
export function bodyKeys(ex: Exchange): string[] {
  return ex.body && typeof ex.body === 'object' ? Object.keys(ex.body).sort() : [];
}
