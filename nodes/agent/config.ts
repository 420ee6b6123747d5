import path from 'node:path';
import { parseArgs } from 'node:util';
import * as z from 'zod';
import type { Credentials, CredentialsRead } from './credentials';
import { COMMANDS, FLAGS, isCommand, type Command, type Flag, type FlagSpec } from './flags';
import { parseRpcWorkers } from './rpc-pool-plan';

const intFrom = (name: string, min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `${name} must be a whole number`)
    .transform(Number)
    .pipe(z.number().int().min(min, `${name} must be at least ${min}`).max(max, `${name} must be at most ${max}`));

const httpUrl = (name: string) =>
  z
    .string()
    .trim()
    .url(`${name} must be a URL`)
    .refine((u) => /^https?:\/\//i.test(u), `${name} must start with http:// or https://`)
    .transform((u) => u.replace(/\/+$/, ''));

/** `porten run`'s configuration (also what `service install` writes into the unit). */
const RunSchema = z.object({
  edgeUrl: httpUrl('--edge / PORTEN_EDGE_URL'),
  nodeId: z.string().trim().min(1, '--node-id must not be empty').max(128, '--node-id is at most 128 characters'),
  nodeKey: z.string().min(1, '--node-key / PORTEN_NODE_KEY is required for `porten run` (or enroll first with `porten login`)'),
  modelsDir: z.string().min(1),
  budgetMb: intFrom('--budget-mb / PORTEN_VRAM_BUDGET_MB', 1, 1 << 30).optional(),
  maxConcurrency: intFrom('--max-concurrency / PORTEN_MAX_CONCURRENCY', 1, 4096),
  /** Undefined: the physical core count, known once the hardware is probed. */
  threads: intFrom('--threads / PORTEN_ENGINE_THREADS', 1, 1024).optional(),
  region: z.string().trim().max(64).optional(),
  openaiUpstream: httpUrl('--openai-upstream / PORTEN_OPENAI_UPSTREAM').optional(),
  /** Further upstreams a catalog entry may name for engine `openai`; nothing else is ever fronted. */
  openaiUpstreamAllow: z.array(httpUrl('--openai-upstream-allow / PORTEN_OPENAI_UPSTREAM_ALLOW')).max(32).default([]),
  /** The key came from `--node-key` (visible to every local user in `ps`): the CLI warns. */
  nodeKeyFromFlag: z.boolean().default(false),
  hfEndpoint: httpUrl('--hf-endpoint / PORTEN_HF_ENDPOINT / HF_ENDPOINT').optional(),
  /** From HF_TOKEN only: a secret has no flag (flags show in `ps`). */
  hfToken: z.string().optional(),
  /** Engine for GGUF catalog entries marked `builtin`: node-llama-cpp in-process, or llama-server (docs/engines.md). */
  ggufEngine: z.enum(['builtin', 'llama-server'], { message: '--gguf-engine / PORTEN_GGUF_ENGINE must be builtin or llama-server' }),
  /** An operator's own llama-server binary; undefined: the `npm run llama:build` cache (llama-server-binary.ts). */
  llamaServer: z.string().min(1).optional(),
  /** A combined node: `host:port[=MB]` of each `porten worker` (docs/combined-machines.md). */
  rpcWorkers: z
    .string()
    .optional()
    .transform((v, c) => {
      if (v === undefined) return undefined;
      const r = parseRpcWorkers(v);
      if (!r.ok) c.addIssue({ code: 'custom', message: r.error });
      return r.ok ? r.value : undefined;
    }),
  /** Where `porten login` writes the node's key and `porten run` reads it when no --node-key is given. */
  credentialsPath: z.string().min(1),
  statusFile: z.string().min(1),
});
export type AgentConfig = z.infer<typeof RunSchema>;

/** `porten worker`'s configuration: where its ggml-rpc-server listens and what it lends. */
const WorkerSchema = z.object({
  host: z.string().trim().min(1, '--host must not be empty'),
  port: intFrom('--port / PORTEN_WORKER_PORT', 1, 65534),
  device: z.string().trim().optional(),
  memoryMb: intFrom('--memory-mb / PORTEN_WORKER_MEMORY_MB', 1, 1 << 30).optional(),
  /** Undefined: the physical core count. */
  threads: intFrom('--threads / PORTEN_ENGINE_THREADS', 1, 1024).optional(),
});
export type WorkerConfig = z.infer<typeof WorkerSchema>;

export type ServiceAction = 'install' | 'uninstall' | 'status';

/** What the command line asks for, validated. `given` holds the flags set by argv or environment, as given. */
export type ParsedCommand =
  | { command: 'run'; config: AgentConfig; given: Partial<Record<Flag, string>> }
  | { command: 'login'; edgeUrl: string; credentialsPath: string }
  | { command: 'worker'; config: WorkerConfig }
  | { command: 'status'; statusFile: string; json: boolean }
  | { command: 'models'; modelsDir: string; json: boolean }
  | {
      command: 'service';
      action: ServiceAction;
      scope: 'user' | 'system';
      dryRun: boolean;
      /** For install: the run configuration the unit will start with (validated now, so the service can start). */
      config?: AgentConfig;
      given: Partial<Record<Flag, string>>;
    }
  | { command: 'help'; topic?: Command }
  | { command: 'version' };

/** Usage errors exit 2 with one line; `command` names the command whose help to point at. */
export type ConfigResult = { ok: true; cmd: ParsedCommand } | { ok: false; error: string };

export interface ConfigDefaults {
  hostname: string;
  homedir: string;
  /** Reads a credentials file (injected, so parsing stays pure); consulted for `run` when no node key is given. */
  credentials?: (file: string) => CredentialsRead;
}

function expandHome(p: string, home: string): string {
  return p === '~' ? home : p.startsWith('~/') ? path.join(home, p.slice(2)) : p;
}

/** Splits argv into its command and that command's flags; strict: a flag the command does not take is an error. */
function split(argv: string[]): { command: Command; values: Record<string, string | boolean>; positionals: string[] } | { error: string } {
  const first = argv[0];
  const command: Command | undefined = first === undefined ? 'help' : isCommand(first) ? first : undefined;
  if (!command) {
    if (first === '--version' || first === '-V') return { command: 'version', values: {}, positionals: [] };
    if (first === '--help' || first === '-h') return { command: 'help', values: {}, positionals: argv.slice(1, 2) };
    if (first.startsWith('-')) return { error: `porten: unknown flag ${first.split('=')[0]} (flags go after the command: \`porten run ${first}\`)` };
    return { error: `porten: unknown command: ${first} (try \`porten help\`)` };
  }
  const names: Flag[] = [...COMMANDS[command].flags, 'help'];
  const options = Object.fromEntries(
    names.map((f) => {
      const spec: FlagSpec = FLAGS[f];
      const opt: { type: 'string' | 'boolean'; short?: string } = { type: spec.value ? 'string' : 'boolean' };
      if (spec.short) opt.short = spec.short;
      return [f, opt];
    }),
  );
  try {
    const r = parseArgs({ args: argv.slice(1), allowPositionals: true, strict: true, options });
    return { command, values: r.values as Record<string, string | boolean>, positionals: r.positionals };
  } catch (err) {
    return { error: `porten ${command}: ${usageMessage((err as Error).message)} (see \`porten help ${command}\`)` };
  }
}

/** node:util's messages are long and name internals; one short line is what a person needs. */
function usageMessage(m: string): string {
  const unknown = /Unknown option '([^']+)'/.exec(m);
  if (unknown) return `unknown flag ${unknown[1]}`;
  const missing = /Option '(?:-\w, )?(--[\w-]+)[^']*' argument missing/.exec(m);
  if (missing) return `${missing[1]} needs a value`;
  const bool = /Option '(?:-\w, )?(--[\w-]+)' does not take an argument/.exec(m);
  if (bool) return `${bool[1]} takes no value`;
  return m.split('\n')[0];
}

/**
 * env + argv → the command to run. Pure: the hostname, home directory and credentials reader are
 * passed in. Never throws; every problem becomes one readable line for the CLI to print (exit 2).
 */
export function parseConfig(env: Record<string, string | undefined>, argv: string[], defaults: ConfigDefaults): ConfigResult {
  const s = split(argv);
  if ('error' in s) return { ok: false, error: s.error };
  const { command, values, positionals } = s;
  const fail = (error: string): ConfigResult => ({ ok: false, error: `porten ${command}: ${error}` });
  if (values.help) return { ok: true, cmd: { command: 'help', topic: command } };

  const given: Partial<Record<Flag, string>> = {};
  for (const f of COMMANDS[command].flags) {
    const spec: FlagSpec = FLAGS[f];
    const v = values[f] ?? (spec.env ? env[spec.env] : undefined);
    if (typeof v === 'string' && v.trim() !== '') given[f] = v;
  }
  const home = (p: string) => path.resolve(expandHome(p, defaults.homedir));
  const credentialsPath = home(given.credentials ?? '~/.porten/credentials.json');
  const statusFile = home(given['status-file'] ?? '~/.porten/status.json');
  const modelsDir = home(given['models-dir'] ?? '~/.porten/models');
  const json = values.json === true;
  // A key on the command line is visible to every local user (ps): `run` warns about it.
  const keyFromFlag = typeof values['node-key'] === 'string' && values['node-key'].trim() !== '';

  switch (command) {
    case 'help': {
      if (positionals.length > 1) return fail(`unexpected argument: ${positionals[1]}`);
      const topic = positionals[0];
      if (topic !== undefined && !isCommand(topic)) return fail(`no such command: ${topic}`);
      return { ok: true, cmd: { command: 'help', topic } };
    }
    case 'version':
      return positionals.length ? fail(`unexpected argument: ${positionals[0]}`) : { ok: true, cmd: { command: 'version' } };
    case 'status':
    case 'models':
      if (positionals.length) return fail(`unexpected argument: ${positionals[0]}`);
      return { ok: true, cmd: command === 'status' ? { command, statusFile, json } : { command, modelsDir, json } };
    case 'login': {
      if (positionals.length) return fail(`unexpected argument: ${positionals[0]}`);
      const edge = httpUrl('--edge / PORTEN_EDGE_URL').safeParse(given.edge ?? 'http://127.0.0.1:8787');
      if (!edge.success) return fail(edge.error.issues[0]?.message ?? 'invalid --edge');
      return { ok: true, cmd: { command: 'login', edgeUrl: edge.data, credentialsPath } };
    }
    case 'service': {
      const action = positionals[0];
      if (action !== 'install' && action !== 'uninstall' && action !== 'status') {
        return fail(action === undefined ? 'say install, uninstall or status' : `unknown action: ${action} (install, uninstall or status)`);
      }
      if (positionals.length > 1) return fail(`unexpected argument: ${positionals[1]}`);
      if (values.user && values.system) return fail('--user and --system exclude each other');
      const scope = values.system ? 'system' : 'user';
      const dryRun = values['dry-run'] === true;
      if (action !== 'install') return { ok: true, cmd: { command, action, scope, dryRun, given } };
      const run = runConfig(given, env, defaults, { credentialsPath, statusFile, modelsDir, keyFromFlag });
      if (!run.ok) return fail(run.error);
      return { ok: true, cmd: { command, action, scope, dryRun, config: run.config, given } };
    }
    case 'run': {
      if (positionals.length) return fail(`unexpected argument: ${positionals[0]}`);
      const run = runConfig(given, env, defaults, { credentialsPath, statusFile, modelsDir, keyFromFlag });
      return run.ok ? { ok: true, cmd: { command, config: run.config, given } } : fail(run.error);
    }
    case 'worker': {
      if (positionals.length) return fail(`unexpected argument: ${positionals[0]}`);
      const worker = WorkerSchema.safeParse({
        host: given.host ?? '127.0.0.1',
        port: given.port ?? '50052',
        device: given.device,
        memoryMb: given['memory-mb'],
        threads: given.threads,
      });
      if (!worker.success) return fail(worker.error.issues[0]?.message ?? 'invalid configuration');
      return { ok: true, cmd: { command, config: worker.data } };
    }
  }
}

function runConfig(
  given: Partial<Record<Flag, string>>,
  env: Record<string, string | undefined>,
  defaults: ConfigDefaults,
  paths: { credentialsPath: string; statusFile: string; modelsDir: string; keyFromFlag: boolean },
): { ok: true; config: AgentConfig } | { ok: false; error: string } {
  // An explicit key, id or edge wins over the file; the file fills in what was not given.
  let stored: Credentials | undefined;
  if (!given['node-key'] && defaults.credentials) {
    const read = defaults.credentials(paths.credentialsPath);
    if (read.ok) stored = read.credentials;
    else if (!read.missing) return { ok: false, error: read.error };
  }
  const parsed = RunSchema.safeParse({
    edgeUrl: given.edge ?? stored?.edge ?? 'http://127.0.0.1:8787',
    nodeId: given['node-id'] ?? stored?.node_id ?? defaults.hostname,
    nodeKey: given['node-key'] ?? stored?.node_key ?? '',
    credentialsPath: paths.credentialsPath,
    statusFile: paths.statusFile,
    modelsDir: paths.modelsDir,
    budgetMb: given['budget-mb'],
    maxConcurrency: given['max-concurrency'] ?? '4',
    threads: given.threads,
    region: given.region,
    openaiUpstream: given['openai-upstream'],
    openaiUpstreamAllow: (given['openai-upstream-allow'] ?? '')
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean),
    nodeKeyFromFlag: paths.keyFromFlag,
    hfEndpoint: given['hf-endpoint'] ?? (env.HF_ENDPOINT?.trim() || undefined),
    hfToken: env.HF_TOKEN?.trim() || undefined,
    ggufEngine: given['gguf-engine']?.trim() ?? 'builtin',
    llamaServer: given['llama-server'] && path.resolve(expandHome(given['llama-server'], defaults.homedir)),
    rpcWorkers: given['rpc-workers'],
  });
  if (!parsed.success) return { ok: false, error: parsed.error.issues[0]?.message ?? 'invalid configuration' };
  return { ok: true, config: parsed.data };
}
