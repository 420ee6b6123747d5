import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, startStack, type Stack } from './stack';

/**
 * `npm start`: the whole stack on this machine — edge on local workerd with
 * state on disk, the demo weights origin, and one node agent with the builtin
 * engine. The agent gets a node key of its own, recorded `trusted` (so the
 * production default minimum trust applies to this stack too), passed in its
 * environment. "porten is up" is printed only once that agent is connected,
 * so the first request copied from the banner works. Ctrl-C stops everything.
 */
const port = Number(process.env.PORTEN_PORT ?? 8787);
// Where durable state and the credentials file go; PORTEN_STATE_DIR lets tests run a stack without touching yours.
const stateDir = process.env.PORTEN_STATE_DIR ? path.resolve(process.env.PORTEN_STATE_DIR) : path.join(ROOT, '.porten');
const secretsFile = path.join(stateDir, 'local.env');
/** A path as the banner shows it: relative when it is under the current directory, else absolute (never `../…`). */
const shownPath = (p: string) => {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
};
const rate = process.env.PORTEN_DEMO_ORIGIN_RATE_MBPS ? Number(process.env.PORTEN_DEMO_ORIGIN_RATE_MBPS) : undefined;
const nodeId = process.env.PORTEN_NODE_ID ?? 'local-node';
const CONNECT_TIMEOUT_MS = 60_000;

// Weak configured secrets are refused by the edge anyway; say so before starting anything.
for (const name of ['PORTEN_API_KEY', 'PORTEN_ADMIN_TOKEN', 'PORTEN_NODE_KEY']) {
  const v = process.env[name];
  if (v && v.length < 32) {
    console.error(`porten: ${name} is only ${v.length} characters long; the edge refuses secrets shorter than 32. Unset it to have one generated.`);
    process.exit(2);
  }
}

const vars: Record<string, string> = { PORTEN_DEFAULT_MIN_TRUST: process.env.PORTEN_DEFAULT_MIN_TRUST ?? 'verified' };
for (const name of ['PORTEN_WARMUP_BUDGET_S', 'PORTEN_DEMAND_WINDOW_S', 'PORTEN_DEMAND_WINDOW_MAX_S', 'PORTEN_QUEUE_MAX', 'PORTEN_CORS_ORIGINS']) {
  if (process.env[name]) vars[name] = process.env[name]!;
}

console.log('porten: preparing demo models and starting the edge…');
const stack = await startStack({
  port,
  apiKey: process.env.PORTEN_API_KEY,
  adminToken: process.env.PORTEN_ADMIN_TOKEN,
  nodeKey: process.env.PORTEN_NODE_KEY,
  persistDir: path.join(stateDir, 'edge-state'),
  workDir: path.join(stateDir, 'nodes'),
  originRateMbps: rate,
  vars,
  log: (source, line) => process.stderr.write(`[${source}] ${line}\n`),
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`\nporten: ${signal} received, stopping…`);
  const force = setTimeout(() => process.exit(1), 15_000);
  force.unref();
  await stack.stop();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

try {
  const nodeKey = await issueTrustedKey(stack, nodeId);
  stack.startAgent({ nodeId, nodeKey, budgetMb: process.env.PORTEN_VRAM_BUDGET_MB ? Number(process.env.PORTEN_VRAM_BUDGET_MB) : undefined });
  await waitForAgent(stack, nodeId);
} catch (err) {
  console.error(`porten: ${(err as Error).message}`);
  await stack.stop();
  process.exit(1);
}

mkdirSync(stateDir, { recursive: true });
// The banner is this local stack's contract (README): the key and token are printed, and kept in a file only the user can read.
writeFileSync(
  secretsFile,
  `# written by npm start; mode 0600\nexport PORTEN_BASE_URL=${stack.url}/v1\nexport PORTEN_API_KEY=${stack.apiKey}\nexport PORTEN_ADMIN_TOKEN=${stack.adminToken}\n`,
  { mode: 0o600 },
);
chmodSync(secretsFile, 0o600);

console.log(`
porten is up (node ${nodeId} connected).
  base URL      ${stack.url}/v1
  API key       ${stack.apiKey}
  admin token   ${stack.adminToken}
  demo origin   ${stack.origin.url}
  (the key and token are also in ${shownPath(secretsFile)}, mode 0600: \`source\` it)

  curl ${stack.url}/v1/chat/completions \\
    -H "Authorization: Bearer ${stack.apiKey}" -H "Content-Type: application/json" \\
    -d '{"model":"demo-small","messages":[{"role":"user","content":"Hello"}]}'

Ctrl-C stops everything.`);

/** A fresh node key for `id`, recorded trusted (any older key of this local stack's state is revoked first). */
async function issueTrustedKey(s: Stack, id: string): Promise<string> {
  const admin = (method: string, p: string, body?: unknown) =>
    fetch(`${s.url}/admin/v1${p}`, {
      method,
      headers: { authorization: `Bearer ${s.adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const existing = await admin('DELETE', `/nodes/${encodeURIComponent(id)}`);
  if (existing.status !== 200 && existing.status !== 404) throw new Error(`cannot reset node ${id}: HTTP ${existing.status}`);
  const res = await admin('POST', '/nodes', { node_id: id, trust: 'trusted', region: 'local', owner: 'local' });
  if (res.status !== 201) throw new Error(`cannot issue a key for node ${id}: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { node_key: string }).node_key;
}

/** Resolves once the agent said hello (online in /admin/v1/nodes); fails if it exits or takes too long. */
async function waitForAgent(s: Stack, id: string): Promise<void> {
  const agent = s.agents.find((a) => a.spec.nodeId === id);
  let exited: number | string | undefined;
  void agent?.exited.then((code) => (exited = code));
  const deadline = Date.now() + CONNECT_TIMEOUT_MS;
  for (;;) {
    const res = await fetch(`${s.url}/admin/v1/nodes`, { headers: { authorization: `Bearer ${s.adminToken}` } });
    if (res.ok) {
      const { data } = (await res.json()) as { data: Array<{ id: string; online: boolean }> };
      if (data.some((n) => n.id === id && n.online)) return;
    }
    if (exited !== undefined) throw new Error(`the local agent exited (${exited}) before it connected; see its output above`);
    if (Date.now() > deadline) throw new Error(`the local agent did not connect within ${CONNECT_TIMEOUT_MS / 1000} s; see its output above`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
