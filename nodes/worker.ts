/**
 * `porten worker`: lends this machine's memory (and its GPUs) to a combined
 * node by running llama.cpp's `ggml-rpc-server` (PORTEN_GGML_RPC_SERVER, else
 * the one `npm run llama:build` made). The combined node (`porten run
 * --rpc-workers host:port`) learns what it lends over the RPC protocol itself.
 *
 * The RPC protocol has no authentication and no encryption: whoever reaches
 * the port can allocate memory and run graphs on this machine. It binds
 * 127.0.0.1 unless `--host` says otherwise; bind a private address only.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { WorkerConfig } from './agent/config';
import { EXIT } from './agent/exit-codes';
import type { Logger } from './agent/log';
import { parentWatch } from './engines/llama-server';
import { watched } from './engines/llama-server-args';
import { resolveLlamaBinary } from './engines/llama-server-binary';
import { rpcPortOpen } from './engines/rpc-client';
import { serveWorkerStatus } from './engines/rpc-status';

export interface WorkerArgsInput {
  host: string;
  port: number;
  threads: number;
  device?: string;
}

/** ggml-rpc-server's argv. Pure. */
export function rpcServerArgs(i: WorkerArgsInput): string[] {
  const args = ['--host', i.host, '--port', String(i.port), '--threads', String(Math.max(1, i.threads))];
  if (i.device) args.push('--device', i.device);
  return args;
}

/** Whether `host` is reachable only from this machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/**
 * `env --ignore-signal=PIPE` where coreutils has it (Linux, coreutils ≥ 8.31). ggml-rpc-server does not
 * ignore SIGPIPE, so a client that dies mid-graph (a llama-server that lost another worker) kills the
 * worker with its next write; an ignored disposition survives exec, and the server then just sees the
 * broken connection and waits for the next client.
 */
export function ignoreSigpipePrefix(): string[] {
  const r = spawnSync('env', ['--ignore-signal=PIPE', 'true'], { stdio: 'ignore', timeout: 5000 });
  return r.status === 0 ? ['env', '--ignore-signal=PIPE'] : [];
}

/** The server's own per-connection chatter; the agent's liveness checks would flood the log with it. */
const QUIET = /^(Accepted client connection|Client connection closed)$/;

/** Runs the worker until it exits or a signal stops it; resolves with the exit code. */
export function runWorker(config: WorkerConfig & { threads: number }, env: NodeJS.ProcessEnv, log: Logger): Promise<number> {
  const bin = resolveLlamaBinary('ggml-rpc-server', env);
  if (!bin.ok) {
    process.stderr.write(`porten worker: ${bin.error}\n`);
    return Promise.resolve(EXIT.usage);
  }
  const { host, port } = config;
  if (!isLoopback(host)) {
    log.warn(
      `listening on ${host}: llama.cpp's RPC protocol has no authentication or encryption; anyone who reaches ${host}:${port} can use this machine's memory and compute. Use a private network only.`,
    );
  }
  const args = rpcServerArgs({ host, port, threads: config.threads, device: config.device });
  log.info('starting ggml-rpc-server', { path: bin.path, endpoint: `${host}:${port}` });
  const endpoint = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  // Ends with this process even when it is SIGKILLed (no orphan keeps lending memory).
  const [prefix, ...prefixArgs] = ignoreSigpipePrefix();
  const c = prefix ? watched(parentWatch(), prefix, [...prefixArgs, bin.path, ...args]) : watched(parentWatch(), bin.path, args);
  if (!prefix) log.warn('cannot ignore SIGPIPE for ggml-rpc-server here: a client that dies mid-request may take the worker down');
  const child = spawn(c.cmd, c.args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, PORTEN_PARENT_PID: String(process.pid) } });
  let listening = false;
  let exited = false;
  const poll = setInterval(() => {
    void rpcPortOpen(endpoint, 500).then(async (open) => {
      if (!open || listening) return;
      listening = true;
      clearInterval(poll);
      // The status side channel (rpc-status.ts): liveness while a llama-server holds the RPC port, and the lent memory.
      const status = await serveWorkerStatus({
        host,
        port: port + 1,
        rpc: endpoint,
        lendMb: config.memoryMb,
        alive: () => !exited,
      }).catch((err: Error) => {
        log.warn('no status port; combined nodes will only see this worker die by refused connections', { port: port + 1, error: err.message });
        return undefined;
      });
      status?.unref();
      log.info('worker listening', { endpoint, status_port: status ? port + 1 : undefined, lend_mb: config.memoryMb });
    });
  }, 200);
  const forward = (out: NodeJS.WriteStream) => (buf: Buffer) => {
    for (const line of buf.toString('utf8').split('\n')) if (line.trim() && !QUIET.test(line.trim())) out.write(`${line}\n`);
  };
  child.stdout!.on('data', forward(process.stdout));
  child.stderr!.on('data', forward(process.stderr));
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => child.kill(sig));
  return new Promise((resolve) => {
    child.once('error', (err) => {
      log.error('cannot start ggml-rpc-server', { error: err.message });
      resolve(EXIT.failure);
    });
    child.once('exit', (code, signal) => {
      exited = true;
      clearInterval(poll);
      const asked = signal === 'SIGINT' || signal === 'SIGTERM' || signal === 'SIGHUP';
      // ggml-rpc-server exits 0 on a bad argument or a port it cannot bind: not listening is a failure.
      if (!listening && !asked) {
        log.error('ggml-rpc-server stopped before it listened', { endpoint, code, signal });
        resolve(EXIT.failure);
        return;
      }
      if (signal && !asked) log.error('ggml-rpc-server died', { signal });
      resolve(code ?? (asked ? EXIT.ok : EXIT.failure));
    });
  });
}
