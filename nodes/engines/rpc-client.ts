/**
 * Just enough of llama.cpp's RPC protocol (`ggml/src/ggml-rpc/ggml-rpc.cpp`,
 * v7) to ask a `ggml-rpc-server` what it has: HELLO, DEVICE_COUNT and
 * GET_DEVICE_MEMORY per device. Little-endian frames:
 *
 *   request:  | cmd u8 | size u64 | payload |
 *   response: | size u64 | payload |
 *
 * The server serves one client at a time (its accept loop is sequential):
 * while a llama-server holds it, a probe connects (the kernel's backlog
 * accepts) but gets no answer. So `probeRpcServer` distinguishes refused
 * (down), silent (busy) and answered (its devices); `rpcPortOpen` is the
 * liveness check that is safe while the worker is in use.
 */
import net from 'node:net';

export const RPC_CMD = { GET_DEVICE_MEMORY: 11, HELLO: 14, DEVICE_COUNT: 15 } as const;
const CONN_CAPS_SIZE = 24;
export const RPC_PROTO_MAJOR = 7;

export interface RpcDevice {
  freeBytes: number;
  totalBytes: number;
}

export type RpcProbe = { state: 'up'; version: string; devices: RpcDevice[] } | { state: 'busy'; detail: string } | { state: 'down'; detail: string };

/** One request frame. Pure. */
export function rpcRequest(cmd: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUInt8(cmd, 0);
  head.writeBigUInt64LE(BigInt(payload.length), 1);
  return Buffer.concat([head, payload]);
}

/** Splits a response frame off the front of `buf`: its payload and the rest, or undefined if incomplete. Pure. */
export function takeResponse(buf: Buffer): { payload: Buffer; rest: Buffer } | undefined {
  if (buf.length < 8) return undefined;
  const size = Number(buf.readBigUInt64LE(0));
  if (buf.length < 8 + size) return undefined;
  return { payload: buf.subarray(8, 8 + size), rest: buf.subarray(8 + size) };
}

export function parseHello(p: Buffer): { major: number; minor: number; patch: number } {
  if (p.length < 4) throw new Error(`HELLO answer is ${p.length} bytes`);
  return { major: p[0], minor: p[1], patch: p[2] };
}

export function parseDeviceMemory(p: Buffer): RpcDevice {
  if (p.length !== 16) throw new Error(`GET_DEVICE_MEMORY answer is ${p.length} bytes`);
  return { freeBytes: Number(p.readBigUInt64LE(0)), totalBytes: Number(p.readBigUInt64LE(8)) };
}

export function splitEndpoint(endpoint: string): { host: string; port: number } {
  const at = endpoint.lastIndexOf(':');
  return { host: endpoint.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(endpoint.slice(at + 1)) };
}

/** Reads framed answers from a socket in order. */
class Conversation {
  private buf: Buffer = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  private ended: Error | undefined;

  constructor(private readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake?.();
    });
    const end = (err?: Error) => {
      this.ended ??= err ?? new Error('the worker closed the connection');
      this.wake?.();
    };
    sock.on('end', () => end());
    sock.on('close', () => end());
    sock.on('error', end);
  }

  async ask(cmd: number, payload?: Buffer): Promise<Buffer> {
    this.sock.write(rpcRequest(cmd, payload));
    for (;;) {
      const r = takeResponse(this.buf);
      if (r) {
        this.buf = r.rest;
        return r.payload;
      }
      if (this.ended) throw this.ended;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}

function connect(endpoint: string, timeoutMs: number): Promise<net.Socket> {
  const { host, port } = splitEndpoint(endpoint);
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no TCP connection within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      resolve(sock);
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/**
 * Whether something accepts TCP connections at `endpoint`. `refused` is certain (nothing listens);
 * `timeout` is not: ggml-rpc-server's backlog of 1 fills while a client holds it, and then new
 * connections wait unanswered exactly as they would for a vanished host.
 */
export async function rpcPortState(endpoint: string, timeoutMs = 2000): Promise<'open' | 'refused' | 'timeout'> {
  try {
    const sock = await connect(endpoint, timeoutMs);
    sock.destroy();
    return 'open';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? 'refused' : 'timeout';
  }
}

export async function rpcPortOpen(endpoint: string, timeoutMs = 2000): Promise<boolean> {
  return (await rpcPortState(endpoint, timeoutMs)) === 'open';
}

/**
 * Asks a worker for its devices' memory. Never throws. `busy` means the port
 * accepted but nothing answered within `timeoutMs` (another client holds the
 * server, or it hangs); `down` means no connection or a broken answer.
 */
export async function probeRpcServer(endpoint: string, timeoutMs = 3000): Promise<RpcProbe> {
  let sock: net.Socket;
  try {
    sock = await connect(endpoint, timeoutMs);
  } catch (err) {
    return { state: 'down', detail: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  }
  const talk = new Conversation(sock);
  let timer: NodeJS.Timeout | undefined;
  const silent = new Promise<RpcProbe>((resolve) => {
    timer = setTimeout(() => resolve({ state: 'busy', detail: `no answer within ${timeoutMs} ms (another client holds the worker?)` }), timeoutMs);
  });
  const answered = (async (): Promise<RpcProbe> => {
    try {
      const hello = parseHello(await talk.ask(RPC_CMD.HELLO, Buffer.alloc(CONN_CAPS_SIZE)));
      const version = `${hello.major}.${hello.minor}.${hello.patch}`;
      if (hello.major !== RPC_PROTO_MAJOR) return { state: 'down', detail: `RPC protocol ${version}; this agent speaks ${RPC_PROTO_MAJOR}.x` };
      const count = await talk.ask(RPC_CMD.DEVICE_COUNT);
      if (count.length !== 4) return { state: 'down', detail: `DEVICE_COUNT answer is ${count.length} bytes` };
      const devices: RpcDevice[] = [];
      for (let d = 0; d < count.readUInt32LE(0); d++) {
        const req = Buffer.alloc(4);
        req.writeUInt32LE(d, 0);
        devices.push(parseDeviceMemory(await talk.ask(RPC_CMD.GET_DEVICE_MEMORY, req)));
      }
      return { state: 'up', version, devices };
    } catch (err) {
      return { state: 'down', detail: (err as Error).message };
    }
  })();
  const result = await Promise.race([answered, silent]);
  clearTimeout(timer);
  if (result.state !== 'busy') {
    sock.destroy();
    return result;
  }
  // Busy: our HELLO waits in the server's queue. Closing now would make the server write its answer
  // to a closed socket, and ggml-rpc-server dies of that SIGPIPE; so the conversation is left to finish
  // in the background (bounded), and the socket closed once the server is past writing to it.
  sock.unref();
  const giveUp = setTimeout(() => sock.destroy(), 10 * 60_000);
  giveUp.unref();
  void answered.finally(() => {
    clearTimeout(giveUp);
    sock.destroy();
  });
  return result;
}
