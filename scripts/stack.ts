import { lineFeeder } from '../nodes/engines/lines';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBuilt } from '../nodes/build.mjs';
import { ensureDemoModels } from './make-demo-models';
import { startDemoOrigin } from './demo-origin';
import { startEdge } from './edge';

// wrangler reads these: no metrics, no network look-ups for request.cf.
process.env.WRANGLER_SEND_METRICS = 'false';
process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface AgentSpec {
  nodeId: string;
  budgetMb?: number;
  maxConcurrency?: number;
  region?: string;
  modelsDir?: string;
  env?: Record<string, string>;
  /** This node's own key (from POST /admin/v1/nodes) instead of the fleet key. */
  nodeKey?: string;
  /** A credentials file written by `porten login`: the agent takes its id and key from it. */
  credentials?: string;
  /** Engine threads (default 1: test machines are small and shared). */
  threads?: number;
}

export interface StackOptions {
  /** Edge port; 0 picks a free one. */
  port?: number;
  apiKey?: string;
  adminToken?: string;
  nodeKey?: string;
  /** Where durable edge state lives; false keeps it in memory (tests). */
  persistDir?: string | false;
  /** Scratch space for agents' weights (each agent gets `<dir>/<node id>` unless it names its own). */
  workDir: string;
  originRateMbps?: number;
  vars?: Record<string, string>;
  /** false: the edge without static assets (see EdgeOptions.staticAssets); the benchmarks' API-only edge. */
  staticAssets?: boolean;
  agents?: AgentSpec[];
  /** Where child output goes; defaults to this process's stderr with a prefix. */
  log?: (source: string, line: string) => void;
}

export interface AgentProcess {
  spec: AgentSpec;
  child: ChildProcess;
  /** Resolves with the exit code (or signal name) once the agent has exited. */
  exited: Promise<number | string>;
  output: string[];
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

export type Stack = Awaited<ReturnType<typeof startStack>>;

export function newSecret(prefix: string): string {
  return `${prefix}${randomBytes(24).toString('hex')}`;
}

/**
 * Brings up the whole local stack: demo models, the demo weights origin, the
 * edge Worker bundled as for deploy and run on local workerd (see edge.ts), and
 * node agents as real processes. `stop()` leaves no process behind.
 */
export async function startStack(opts: StackOptions) {
  const apiKey = opts.apiKey ?? newSecret('sk-porten-');
  const adminToken = opts.adminToken ?? newSecret('adm-');
  const nodeKey = opts.nodeKey ?? newSecret('node-');
  const log = opts.log ?? ((source, line) => process.stderr.write(`[${source}] ${line}\n`));

  // The agents run compiled JavaScript: rebuild it first if any source changed (a no-op otherwise).
  await ensureBuilt();
  const modelsDir = path.join(ROOT, '.porten', 'demo-models');
  await ensureDemoModels(modelsDir);
  const origin = await startDemoOrigin({ dir: modelsDir, rateMbps: opts.originRateMbps });

  const bindings: Record<string, string> = {
    PORTEN_API_KEY: apiKey,
    PORTEN_ADMIN_TOKEN: adminToken,
    PORTEN_NODE_KEY: nodeKey,
    PORTEN_DEMO_ORIGIN: origin.url,
    // A local stack's agents are its own processes on the fleet key (trust `community`); the production default
    // (`verified`, wrangler.toml leaves it unset) would route them nothing. `npm start` keeps the production default
    // and gives its agent a trusted key of its own instead; tests of the default set it through `vars`.
    PORTEN_DEFAULT_MIN_TRUST: 'community',
    ...opts.vars,
  };
  const buildDir = mkdtempSync(path.join(ROOT, '.porten', 'build-'));
  const staticAssets = opts.staticAssets;
  let worker = await startEdge({ root: ROOT, port: opts.port ?? 0, persistDir: opts.persistDir ?? false, bindings, buildDir, staticAssets });
  const url = worker.url;

  const agents: AgentProcess[] = [];

  function startAgent(spec: AgentSpec): AgentProcess {
    const dir = spec.modelsDir ?? path.join(opts.workDir, spec.nodeId);
    mkdirSync(dir, { recursive: true });
    // A spec with `credentials` runs as an enrolled node (id and key from the file); else the fleet key or the spec's own key,
    // passed in the environment: a key on the command line is readable by every local user (ps).
    const identity = spec.credentials ? ['--credentials', spec.credentials] : ['--node-id', spec.nodeId];
    const keyEnv: Record<string, string> = spec.credentials ? {} : { PORTEN_NODE_KEY: spec.nodeKey ?? nodeKey };
    // Each agent its own status file, beside its weights (the default is one per user, in ~/.porten).
    const args = [
      path.join(ROOT, 'nodes', 'bin', 'porten.js'),
      'run',
      '--edge',
      url,
      ...identity,
      '--models-dir',
      dir,
      '--status-file',
      path.join(dir, 'status.json'),
    ];
    args.push('--threads', String(spec.threads ?? 1));
    if (spec.budgetMb !== undefined) args.push('--budget-mb', String(spec.budgetMb));
    if (spec.maxConcurrency !== undefined) args.push('--max-concurrency', String(spec.maxConcurrency));
    if (spec.region) args.push('--region', spec.region);
    // Own process group, so stopping the agent also stops the engines it started.
    const env: NodeJS.ProcessEnv = { ...process.env, ...keyEnv, ...spec.env };
    // An enrolled node must read its key from its file, not from a key this process happens to carry.
    if (spec.credentials) delete env.PORTEN_NODE_KEY;
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const output: string[] = [];
    // Whole lines (the agent's JSON-lines log is parsed by tests), however the pipe cut them.
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.setEncoding('utf8');
      const lines = lineFeeder((line) => {
        output.push(line);
        if (output.length > 2000) output.shift();
        log(`agent ${spec.nodeId}`, line);
      });
      stream.on('data', (s: string) => lines.push(s));
      stream.once('end', () => lines.end());
    }
    const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
    const proc: AgentProcess = {
      spec,
      child,
      exited,
      output,
      kill(signal: NodeJS.Signals = 'SIGTERM') {
        if (child.exitCode === null && child.signalCode === null) {
          try {
            process.kill(-child.pid!, signal);
          } catch {
            child.kill(signal);
          }
        }
        return exited;
      },
    };
    agents.push(proc);
    return proc;
  }

  for (const spec of opts.agents ?? []) startAgent(spec);

  /**
   * Kills the edge (workerd gets SIGKILL: in-memory state and sockets die with
   * it) and starts it again on the same port with the same durable state
   * (`persistDir`) and bundle. Agents keep running and reconnect on their own.
   */
  async function restartEdge(): Promise<void> {
    await worker.dispose();
    const port = Number(new URL(url).port);
    worker = await startEdge({ root: ROOT, port, persistDir: opts.persistDir ?? false, bindings, buildDir, prebuilt: true, staticAssets });
  }

  let stopped = false;
  async function stop(): Promise<void> {
    if (stopped) return;
    stopped = true;
    await Promise.all(
      agents.map(async (a) => {
        const timer = setTimeout(() => void a.kill('SIGKILL'), 5000);
        await a.kill('SIGTERM');
        clearTimeout(timer);
      }),
    );
    await worker.dispose();
    rmSync(buildDir, { recursive: true, force: true });
    await origin.close();
  }

  return { url, apiKey, adminToken, nodeKey, origin, worker, agents, startAgent, restartEdge, stop };
}
