import path from 'node:path';
import { ROOT, startStack } from './stack';

/**
 * `npm start`: the whole stack on this machine — edge on local workerd with
 * state on disk, the demo weights origin, and one node agent with the builtin
 * engine. Ctrl-C stops everything.
 */
const port = Number(process.env.PORTEN_PORT ?? 8787);
const stateDir = path.join(ROOT, '.porten');
const rate = process.env.PORTEN_DEMO_ORIGIN_RATE_MBPS ? Number(process.env.PORTEN_DEMO_ORIGIN_RATE_MBPS) : undefined;
const vars: Record<string, string> = {};
for (const name of ['PORTEN_WARMUP_BUDGET_S', 'PORTEN_DEMAND_WINDOW_S']) {
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
  agents: [{ nodeId: process.env.PORTEN_NODE_ID ?? 'local-node', budgetMb: process.env.PORTEN_VRAM_BUDGET_MB ? Number(process.env.PORTEN_VRAM_BUDGET_MB) : undefined }],
  log: (source, line) => process.stderr.write(`[${source}] ${line}\n`),
});

console.log(`
porten is up.
  base URL      ${stack.url}/v1
  API key       ${stack.apiKey}
  admin token   ${stack.adminToken}
  demo origin   ${stack.origin.url}

  curl ${stack.url}/v1/chat/completions \\
    -H "Authorization: Bearer ${stack.apiKey}" -H "Content-Type: application/json" \\
    -d '{"model":"demo-small","messages":[{"role":"user","content":"Hello"}]}'

Ctrl-C stops everything.`);

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
