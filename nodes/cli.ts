import os from 'node:os';
import { HELP, parseConfig } from './agent/config';
import { readCredentials } from './agent/credentials';
import { createLogger } from './agent/log';
import { detectBudget } from './agent/memory';
import { systemProbes } from './agent/memory-probes';
import { killAllEngines } from './engines/children';

/** `porten` entry point. Exit codes: 0 clean stop, 1 runtime failure or final close, 2 bad configuration. */
export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const log = createLogger('agent');
  const parsed = parseConfig(env, argv, { hostname: os.hostname(), homedir: os.homedir(), credentials: readCredentials });
  if (!parsed.ok) {
    process.stderr.write(`porten: ${parsed.error}\n`);
    return 2;
  }
  const config = parsed.config;
  if (config.command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (config.command === 'login') {
    const { login } = await import('./agent/login');
    return login({ edgeUrl: config.edgeUrl, credentialsPath: config.credentialsPath, hostname: os.hostname(), out: (line) => process.stdout.write(`${line}\n`) });
  }

  // Loaded only for `run`, so `--help` and config errors answer without the engine and downloader code.
  const { Agent } = await import('./agent/agent');
  const budget = detectBudget(systemProbes(config.budgetMb));
  log.info('memory budget', { mb: budget.mb, source: budget.source, detail: budget.detail });
  const agent = new Agent({ config, budgetMb: budget.mb, log });

  let stopping = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) {
      // A second Ctrl-C means "now": no more waiting on graceful engine stops.
      killAllEngines();
      process.exit(130);
    }
    stopping = true;
    log.info(`${sig}: stopping engines`);
    void agent.stop().then(() => process.exit(0), () => process.exit(1));
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
