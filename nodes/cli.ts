import os from 'node:os';
import { PROTOCOL_VERSION } from '../src/protocol';
import { commandHelp, generalHelp } from './agent/cli-help';
import { parseConfig, type AgentConfig, type ParsedCommand } from './agent/config';
import { readCredentials } from './agent/credentials';
import { EXIT } from './agent/exit-codes';
import { createLogger } from './agent/log';
import { registerSecret } from './agent/sanitize';
import { AGENT_VERSION } from './version';

/**
 * `porten` entry point. Exit codes (exit-codes.ts): 0 done (or clean stop); 1 runtime failure, or
 * `status` with no agent running; 2 bad command line or configuration (one line on stderr); 3 the edge
 * refused this node for good (revoked, key refused, protocol version), which no restart fixes.
 */
export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const parsed = parseConfig(env, argv, { hostname: os.hostname(), homedir: os.homedir(), credentials: readCredentials });
  if (!parsed.ok) {
    process.stderr.write(`${parsed.error}\n`);
    return EXIT.usage;
  }
  const out = (text: string) => process.stdout.write(text);
  const cmd: ParsedCommand = parsed.cmd;
  switch (cmd.command) {
    case 'help':
      out(cmd.topic ? commandHelp(cmd.topic) : generalHelp());
      return 0;
    case 'version':
      out(`porten ${AGENT_VERSION} (protocol v${PROTOCOL_VERSION}; node ${process.version} ${process.platform}-${process.arch})\n`);
      return 0;
    case 'login': {
      const { login } = await import('./agent/login');
      return login({ edgeUrl: cmd.edgeUrl, credentialsPath: cmd.credentialsPath, hostname: os.hostname(), out: (line) => out(`${line}\n`) });
    }
    case 'status': {
      const { statusCommand } = await import('./agent/status-command');
      return statusCommand(cmd, out);
    }
    case 'models': {
      const { modelsCommand } = await import('./agent/local-models');
      return modelsCommand(cmd, out);
    }
    case 'service': {
      const { serviceCommand } = await import('./agent/service-command');
      return serviceCommand(cmd, out);
    }
    case 'worker': {
      const [{ runWorker }, { physicalCores }] = await Promise.all([import('./worker'), import('./agent/memory-probes')]);
      return runWorker({ ...cmd.config, threads: cmd.config.threads ?? (await physicalCores()) }, env, createLogger('worker'));
    }
    case 'run':
      return run(cmd.config, env);
  }
}

async function run(config: AgentConfig, env: NodeJS.ProcessEnv): Promise<number> {
  const log = createLogger('agent');
  // Never logged, never inherited: the logger redacts these, and engine processes get an environment without them.
  registerSecret(config.nodeKey);
  registerSecret(env.HF_TOKEN);
  delete process.env.PORTEN_NODE_KEY;
  if (config.nodeKeyFromFlag) {
    log.warn('--node-key puts the key on the command line, where every local user can read it (ps); use PORTEN_NODE_KEY or the credentials file');
  }
  // Loaded only for `run`, so help and config errors answer without the engine and downloader code.
  const [{ Agent }, { decideHardware }, { probeMachine }, { killAllEngines }, { resolveLlamaBinary }, { startRpcPool }] = await Promise.all([
    import('./agent/agent'),
    import('./agent/memory'),
    import('./agent/memory-probes'),
    import('./engines/children'),
    import('./engines/llama-server-binary'),
    import('./agent/rpc-pool-start'),
  ]);
  const llamaServer = resolveLlamaBinary('llama-server', { ...env, PORTEN_LLAMA_SERVER: config.llamaServer });
  if (!llamaServer.ok && config.ggufEngine === 'llama-server') {
    process.stderr.write(`porten run: --gguf-engine llama-server: ${llamaServer.error}\n`);
    return EXIT.usage;
  }
  const hardware = decideHardware(await probeMachine(config.budgetMb));
  log.info('hardware', {
    backend: hardware.backend ?? 'unknown',
    gpus: hardware.gpus.map((g) => g.name).join(', ') || 'none',
    driver: hardware.driver,
    budget_mb: hardware.budget.mb,
    budget_source: hardware.budget.source,
    budget_rule: hardware.budget.detail,
    threads: config.threads ?? hardware.threads,
  });
  if (llamaServer.ok) log.info('llama-server found', { path: llamaServer.path });
  let combined: InstanceType<typeof Agent> | undefined;
  const pool = await startRpcPool(config, env, hardware.budget.mb, llamaServer, log, () => combined);
  if (typeof pool === 'number') return pool;
  const agent = new Agent({ config, hardware, log, llamaServer, rpc: pool });
  combined = agent;

  let stopping = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) {
      // A second Ctrl-C means "now": no more waiting on graceful engine stops.
      killAllEngines();
      process.exit(130);
    }
    stopping = true;
    log.info(`${sig}: stopping engines`);
    void agent.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('uncaughtException', (err) => {
    log.error('uncaught exception', { error: err.stack ?? err.message });
    killAllEngines();
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => log.error('unhandled rejection', { error: (err as Error)?.stack ?? String(err) }));

  agent.start();
  return agent.finished;
}
