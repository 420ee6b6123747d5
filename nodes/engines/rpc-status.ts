/**
 * The status side channel of `porten worker`: plain HTTP on the RPC port + 1,
 * `GET /porten/worker` → `{"porten_worker":1,"rpc":"host:port","alive":true,"lend_mb":N|null}`.
 *
 * Why: ggml-rpc-server serves one client at a time with a listen backlog of
 * 1, so while a llama-server holds it, further TCP connects queue and then
 * time out: a busy worker and a vanished one look alike from its own port.
 * The status port answers either way, and carries the memory the worker's
 * owner lends (`porten worker --memory-mb`), which the RPC protocol cannot.
 * A worker without it (llama.cpp's own rpc-server) still works: refused
 * connections are then the only loss signal while it is in use.
 */
import http from 'node:http';
import * as z from 'zod';
import { splitEndpoint } from './rpc-client';

export const WorkerStatusSchema = z.object({
  porten_worker: z.literal(1),
  rpc: z.string(),
  alive: z.boolean(),
  lend_mb: z.number().int().positive().nullable(),
});
export type WorkerStatus = z.infer<typeof WorkerStatusSchema>;

/** `host:port` of the RPC server → its status endpoint's URL. Pure. */
export function statusUrl(rpcEndpoint: string): string {
  const { host, port } = splitEndpoint(rpcEndpoint);
  const h = host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port + 1}/porten/worker`;
}

export type StatusProbe =
  | { kind: 'status'; status: WorkerStatus }
  /** Nothing listens there: no porten worker (or it is gone). */
  | { kind: 'refused' }
  /** Something answered that is not a porten worker's status. */
  | { kind: 'other' }
  /** No answer in time: the host or the network is gone (or overloaded). */
  | { kind: 'unreachable'; detail: string };

/** Fetches a worker's status on a fresh connection (a pooled one could outlive the worker). Never throws. */
export function fetchWorkerStatus(rpcEndpoint: string, timeoutMs = 1500): Promise<StatusProbe> {
  return new Promise((resolve) => {
    const req = http.get(statusUrl(rpcEndpoint), { agent: false, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
        if (text.length > 4096) req.destroy();
      });
      res.on('end', () => {
        let json: unknown = null;
        try {
          json = JSON.parse(text);
        } catch {
          // not a porten worker
        }
        const parsed = WorkerStatusSchema.safeParse(json);
        resolve(parsed.success ? { kind: 'status', status: parsed.data } : { kind: 'other' });
      });
      res.on('error', () => resolve({ kind: 'unreachable', detail: 'answer broke off' }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve(err.code === 'ECONNREFUSED' ? { kind: 'refused' } : { kind: 'unreachable', detail: err.code ?? err.message }),
    );
  });
}

/** Serves the status of one worker; `alive` is asked on every request. */
export function serveWorkerStatus(o: { host: string; port: number; rpc: string; lendMb?: number; alive: () => boolean }): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/porten/worker') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    const body: WorkerStatus = { porten_worker: 1, rpc: o.rpc, alive: o.alive(), lend_mb: o.lendMb ?? null };
    res.writeHead(body.alive ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve(server));
  });
}
