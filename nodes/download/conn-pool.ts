import net from 'node:net';
import tls from 'node:tls';

/** Where a connection's incoming bytes go: the request using it, or the idle sink while it waits in the pool. */
export interface ReadSink {
  /** The memory the next read lands in (the kernel, or OpenSSL for TLS, writes straight into it). */
  buffer(): Uint8Array;
  /**
   * `n` bytes arrived in `landed`. Usually the buffer this sink gave, but Node asks for the next
   * buffer right after each read, so the first read of a request lands in whatever the previous
   * owner (the idle sink) gave: the sink must check. false pauses the socket.
   */
  onRead(n: number, landed: Uint8Array): boolean;
  /** The connection ended or failed. */
  onEnd(err: Error): void;
}

/** One HTTP/1.1 connection (plain or TLS) that carries one request at a time. */
export class Conn {
  /** Set right after construction: the socket's `onread` needs this object before the socket exists. */
  sock!: net.Socket;
  /** true once it carried a response: a failure before any byte may then be a stale keep-alive. */
  reused = false;
  dead = false;
  /**
   * Where reads land while no request owns the connection (idle, connecting, or a request that just
   * ended: Node asks for the next read's buffer right after each read, before the owner changes).
   * One per connection: TLS may decrypt into it at any time, so it is never shared.
   */
  readonly scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  constructor(
    readonly key: string,
    public sink: ReadSink,
  ) {}
}

/** Size of a connection's own read buffer for the moments no request owns it. */
const SCRATCH_BYTES = 16 << 10;

/**
 * Kept-alive connections per origin (`scheme//host:port`), for the raw client: the pieces of one
 * download reuse a few warm connections instead of paying a TCP (and TLS) handshake and slow start
 * per 16 MB piece. Reads use `onread`, so incoming bytes land in the request's own buffers (see
 * raw-http.ts). Idle connections close after `idleMs`; `close()` ends them all. Verification of
 * TLS certificates is Node's default (system CAs plus NODE_EXTRA_CA_CERTS).
 */
export class ConnPool {
  private idle = new Map<string, Conn[]>();
  private timers = new Map<Conn, NodeJS.Timeout>();
  private readonly all = new Set<Conn>();
  /** Connections opened, for tests and diagnostics. */
  opened = 0;

  constructor(private readonly idleMs = 30_000) {}

  /** A connection to `url`'s origin: an idle one when there is one (unless `fresh`), else a new one. */
  async acquire(url: URL, signal: AbortSignal, fresh = false): Promise<Conn> {
    const key = originKey(url);
    const list = this.idle.get(key);
    while (!fresh && list?.length) {
      const c = list.pop()!;
      clearTimeout(this.timers.get(c));
      this.timers.delete(c);
      if (!c.dead && !c.sock.destroyed) return c;
    }
    return this.connect(url, key, signal);
  }

  /** Back to the pool; the caller read its response completely. */
  release(c: Conn): void {
    if (c.dead || c.sock.destroyed) return this.discard(c);
    c.reused = true;
    c.sink = this.idleSink(c);
    const list = this.idle.get(c.key) ?? [];
    list.push(c);
    this.idle.set(c.key, list);
    const t = setTimeout(() => this.discard(c), this.idleMs);
    t.unref();
    this.timers.set(c, t);
  }

  discard(c: Conn): void {
    c.dead = true;
    clearTimeout(this.timers.get(c));
    this.timers.delete(c);
    const list = this.idle.get(c.key);
    if (list)
      this.idle.set(
        c.key,
        list.filter((x) => x !== c),
      );
    this.all.delete(c);
    c.sock.destroy();
  }

  close(): void {
    for (const c of [...this.all]) this.discard(c);
  }

  private idleSink(c: Conn): ReadSink {
    // Bytes or an end while idle: the server closed or broke the connection; never reuse it.
    const gone = () => {
      if (c.sink === sink) this.discard(c);
    };
    const sink: ReadSink = {
      buffer: () => c.scratch,
      onRead: () => {
        gone();
        return false;
      },
      onEnd: gone,
    };
    return sink;
  }

  private connect(url: URL, key: string, signal: AbortSignal): Promise<Conn> {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const secure = url.protocol === 'https:';
    const port = Number(url.port || (secure ? 443 : 80));
    const pending: ReadSink = {
      buffer: () => conn.scratch,
      onRead: () => false,
      onEnd: (err) => fail(err),
    };
    let fail: (err: unknown) => void = () => {};
    const conn = new Conn(key, pending);
    // The sink is looked up on every read (Node asks for the first buffer as the socket is made),
    // so a request can take over the connection later.
    const onread = { buffer: () => conn.sink.buffer(), callback: (n: number, landed: Uint8Array) => conn.sink.onRead(n, landed) };
    // tls.connect honours `onread` like net.connect (Node passes it to the underlying socket); its types omit it.
    const sock = secure
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'], onread } as tls.ConnectionOptions)
      : net.connect({ host, port, onread });
    conn.sock = sock;
    sock.setNoDelay(true);
    this.opened++;
    return new Promise<Conn>((resolve, reject) => {
      this.all.add(conn);
      sock.on('error', (err) => conn.sink.onEnd(err));
      sock.on('end', () => conn.sink.onEnd(new ConnectionClosed('the server closed the connection')));
      sock.on('close', () => {
        conn.dead = true;
        this.all.delete(conn);
        conn.sink.onEnd(new ConnectionClosed('connection closed'));
      });
      const onAbort = () => fail(signal.reason ?? new Error('aborted'));
      fail = (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        this.discard(conn);
        reject(err);
      };
      sock.once(secure ? 'secureConnect' : 'connect', () => {
        signal.removeEventListener('abort', onAbort);
        conn.sink = this.idleSink(conn);
        resolve(conn);
      });
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** The peer ended the connection (FIN or close) while we were using or keeping it. */
export class ConnectionClosed extends Error {
  override name = 'ConnectionClosed';
}

export function originKey(url: URL): string {
  return `${url.protocol}//${url.host}`;
}
