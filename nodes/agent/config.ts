import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { Credentials, CredentialsRead } from './credentials';

/** Flags mirror PORTEN_* variables; a flag wins over its variable. */
const FLAGS = {
  edge: 'PORTEN_EDGE_URL',
  'node-id': 'PORTEN_NODE_ID',
  'node-key': 'PORTEN_NODE_KEY',
  'models-dir': 'PORTEN_MODELS_DIR',
  'budget-mb': 'PORTEN_VRAM_BUDGET_MB',
  'max-concurrency': 'PORTEN_MAX_CONCURRENCY',
  threads: 'PORTEN_ENGINE_THREADS',
  region: 'PORTEN_REGION',
  'openai-upstream': 'PORTEN_OPENAI_UPSTREAM',
  credentials: 'PORTEN_CREDENTIALS',
} as const;
type Flag = keyof typeof FLAGS;

const intFrom = (name: string, min: number, max: number) =>
  z.string().trim().regex(/^\d+$/, `${name} must be a whole number`).transform(Number)
    .pipe(z.number().int().min(min, `${name} must be at least ${min}`).max(max, `${name} must be at most ${max}`));

const httpUrl = (name: string) => z.string().trim().url(`${name} must be a URL`)
  .refine((u) => /^https?:\/\//i.test(u), `${name} must start with http:// or https://`)
  .transform((u) => u.replace(/\/+$/, ''));

const ConfigSchema = z.object({
  command: z.enum(['run', 'login', 'help']),
  edgeUrl: httpUrl('--edge / PORTEN_EDGE_URL'),
  nodeId: z.string().trim().min(1, '--node-id must not be empty').max(128, '--node-id is at most 128 characters'),
  nodeKey: z.string().optional(),
  modelsDir: z.string().min(1),
  budgetMb: intFrom('--budget-mb / PORTEN_VRAM_BUDGET_MB', 1, 1 << 30).optional(),
  maxConcurrency: intFrom('--max-concurrency / PORTEN_MAX_CONCURRENCY', 1, 4096),
  threads: intFrom('--threads / PORTEN_ENGINE_THREADS', 1, 1024),
  region: z.string().trim().max(64).optional(),
  openaiUpstream: httpUrl('--openai-upstream / PORTEN_OPENAI_UPSTREAM').optional(),
  /** Where `porten login` writes the node's key and `porten run` reads it when no --node-key is given. */
  credentialsPath: z.string().min(1),
}).refine((c) => c.command !== 'run' || !!c.nodeKey, { message: '--node-key / PORTEN_NODE_KEY is required for `porten run` (or enroll first with `porten login`)', path: ['nodeKey'] });

export type AgentConfig = z.infer<typeof ConfigSchema>;
export type ConfigResult = { ok: true; config: AgentConfig } | { ok: false; error: string };

export interface ConfigDefaults {
  hostname: string;
  homedir: string;
  /** Reads a credentials file (injected, so parsing stays pure); consulted for `run` only when no node key is given. */
  credentials?: (file: string) => CredentialsRead;
}

function expandHome(p: string, home: string): string {
  return p === '~' ? home : p.startsWith('~/') ? path.join(home, p.slice(2)) : p;
}

/**
 * env + argv → config. Pure: the hostname and home directory are passed in.
 * Never throws; every problem becomes one readable line for the CLI to print.
 */
export function parseConfig(env: Record<string, string | undefined>, argv: string[], defaults: ConfigDefaults): ConfigResult {
  let values: Partial<Record<Flag | 'help', string | boolean>>;
  let positionals: string[];
  try {
    const options = Object.fromEntries(Object.keys(FLAGS).map((f) => [f, { type: 'string' as const }]));
    ({ values, positionals } = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
    }) as { values: typeof values; positionals: string[] });
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
  if (positionals.length > 1) return { ok: false, error: `unexpected argument: ${positionals[1]}` };
  const verb = values.help ? 'help' : positionals[0] ?? 'help';
  if (verb !== 'run' && verb !== 'login' && verb !== 'help') return { ok: false, error: `unknown command: ${verb} (try \`porten --help\`)` };

  const pick = (f: Flag): string | undefined => {
    const v = values[f] ?? env[FLAGS[f]];
    return typeof v === 'string' && v.trim() !== '' ? v : undefined;
  };
  const credentialsPath = path.resolve(expandHome(pick('credentials') ?? '~/.porten/credentials.json', defaults.homedir));
  // An explicit key, id or edge wins over the file; the file fills in what was not given.
  let stored: Credentials | undefined;
  if (verb === 'run' && !pick('node-key') && defaults.credentials) {
    const read = defaults.credentials(credentialsPath);
    if (read.ok) stored = read.credentials;
    else if (!read.missing) return { ok: false, error: read.error };
  }
  const parsed = ConfigSchema.safeParse({
    command: verb,
    edgeUrl: pick('edge') ?? stored?.edge ?? 'http://127.0.0.1:8787',
    nodeId: pick('node-id') ?? stored?.node_id ?? defaults.hostname,
    nodeKey: pick('node-key') ?? stored?.node_key,
    credentialsPath,
    modelsDir: path.resolve(expandHome(pick('models-dir') ?? '~/.porten/models', defaults.homedir)),
    budgetMb: pick('budget-mb'),
    maxConcurrency: pick('max-concurrency') ?? '4',
    threads: pick('threads') ?? '1',
    region: pick('region'),
    openaiUpstream: pick('openai-upstream'),
  });
  if (!parsed.success) return { ok: false, error: parsed.error.issues[0]?.message ?? 'invalid configuration' };
  return { ok: true, config: parsed.data };
}

export const HELP = `porten — node agent for the porten inference hub

Usage:
  porten run [flags]     connect to the edge and serve models
  porten login [flags]   enroll this node: approve it in the browser, store its key
  porten --help          show this help

Flags (each also read from its environment variable):
  --edge URL             PORTEN_EDGE_URL        edge base URL (default http://127.0.0.1:8787)
  --node-id ID           PORTEN_NODE_ID         this node's id (default: hostname)
  --node-key KEY         PORTEN_NODE_KEY        node key issued by the edge (default: from the credentials file)
  --credentials FILE     PORTEN_CREDENTIALS     written by \`login\`, read by \`run\` (default ~/.porten/credentials.json, mode 0600)
  --models-dir DIR       PORTEN_MODELS_DIR      where weights live (default ~/.porten/models)
  --budget-mb N          PORTEN_VRAM_BUDGET_MB  memory budget (default: detected)
  --max-concurrency N    PORTEN_MAX_CONCURRENCY concurrent requests (default 4)
  --threads N            PORTEN_ENGINE_THREADS  CPU threads per engine (default 1)
  --region NAME          PORTEN_REGION          informational; the operator assigns regions
  --openai-upstream URL  PORTEN_OPENAI_UPSTREAM default upstream for engine "openai"
`;
