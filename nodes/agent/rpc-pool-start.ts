import type { Agent } from './agent';
import type { AgentConfig } from './config';
import { EXIT } from './exit-codes';
import type { Logger } from './log';
import { RpcPool } from './rpc-pool';

/**
 * `porten run --rpc-workers …`: probes the workers and returns the pool the
 * agent pools its budget with (undefined for an ordinary node), or an exit
 * code when a combined node cannot run here. `agent` is read lazily: the pool
 * exists before the agent it reports to.
 */
export async function startRpcPool(
  config: AgentConfig,
  env: NodeJS.ProcessEnv,
  localMb: number,
  llamaServer: { ok: true; path: string } | { ok: false; error: string },
  log: Logger,
  agent: () => Agent | undefined,
): Promise<RpcPool | number | undefined> {
  if (!config.rpcWorkers) return undefined;
  if (!llamaServer.ok) {
    process.stderr.write(`porten run: --rpc-workers needs llama-server: ${llamaServer.error}\n`);
    return EXIT.usage;
  }
  const probeMs = Number(env.PORTEN_RPC_PROBE_MS) > 0 ? Number(env.PORTEN_RPC_PROBE_MS) : undefined;
  const pool = new RpcPool({
    workers: config.rpcWorkers,
    localMb,
    log: log.child('rpc'),
    llamaServer: llamaServer.path,
    probeMs,
    onChange: () => agent()?.reannounce(),
    onLost: (model, reason) => agent()?.workerLost(model, reason),
  });
  await pool.start();
  return pool;
}
