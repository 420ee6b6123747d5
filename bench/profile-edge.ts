import { readdirSync, readFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { SourceMap } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { cpuSeconds, findDescendants } from './proc';
import { bootBenchStack } from './stack';

/**
 * `node --import tsx bench/profile-edge.ts [--seconds=10] [--concurrency=4] [--chunks=20] [--top=40] [--no-profile]`
 *
 * CPU profiles of the warm hot path: the bench stack (API-only edge on local workerd, one agent in front of the
 * instant engine) under a closed loop of streaming requests. workerd is profiled through its V8 inspector (Chrome
 * DevTools Protocol, scripts/edge.ts's opt-in `inspectorPort`), the agent with `node --cpu-prof`; both are printed
 * as self time by function, heaviest first. Sampling slows both processes; `--no-profile` runs the same load without
 * it and prints only the CPU time each process spent per request (from /proc), a steadier figure for before/after
 * comparisons than the open-loop benchmark's.
 */
const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
const seconds = arg('seconds', 10);
const concurrency = arg('concurrency', 4);
const chunks = arg('chunks', 20);
const top = arg('top', 40);
const profiling = !process.argv.includes('--no-profile');
const inspectorPort = 9300 + Math.floor(Math.random() * 500);

interface CpuProfile {
  nodes: Array<{ id: number; children?: number[]; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

const profDir = mkdtempSync(path.join(os.tmpdir(), 'porten-agent-prof-'));
if (profiling) {
  process.env.PORTEN_EDGE_INSPECTOR_PORT = String(inspectorPort);
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${profDir}`.trim();
}
const b = await bootBenchStack();
delete process.env.NODE_OPTIONS;
const agentPid = b.stack.agents[0].child.pid!;
// The bundle is minified: its source map (wrangler.toml's upload_source_maps) names the lines in src/.
const buildRoot = path.join(import.meta.dirname, '..', '.porten');
const newest = readdirSync(buildRoot)
  .filter((d) => d.startsWith('build-'))
  .map((d) => path.join(buildRoot, d))
  .sort((x, y) => statSync(y).mtimeMs - statSync(x).mtimeMs)[0];
const bundleMap = new SourceMap(JSON.parse(readFileSync(path.join(newest, 'index.js.map'), 'utf8')));

const devtools = profiling ? await connect() : null;

const body = JSON.stringify({ model: 'bench-instant', messages: [{ role: 'user', content: 'x' }], max_tokens: chunks, stream: true });
const one = async () => {
  const res = await fetch(`${b.edge.url}/v1/chat/completions`, { method: 'POST', headers: { ...b.edge.headers, 'content-type': 'application/json' }, body });
  await res.text();
};
for (let i = 0; i < 50; i++) await one();

if (devtools) {
  await devtools.call('Profiler.enable');
  await devtools.call('Profiler.setSamplingInterval', { interval: 100 });
  await devtools.call('Profiler.start');
}
const workerd = findDescendants(process.pid, /workerd/);
const cpu = () => ({ w: workerd.reduce((s, p) => s + cpuSeconds(p), 0), a: cpuSeconds(agentPid) });
const cpu0 = cpu();
const until = Date.now() + seconds * 1000;
let requests = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (Date.now() < until) {
      await one();
      requests++;
    }
  }),
);
const cpu1 = cpu();
const profile = devtools ? (await devtools.call<{ profile: CpuProfile }>('Profiler.stop')).profile : undefined;
devtools?.ws.close();
await b.stop();

const perReq = (s: number) => ((s * 1000) / requests).toFixed(3);
console.log(`${requests} requests (${chunks}-chunk streams, concurrency ${concurrency}, ${seconds} s${profiling ? ', profiled' : ''})`);
console.log(`CPU per request (/proc): workerd ${perReq(cpu1.w - cpu0.w)} ms, agent ${perReq(cpu1.a - cpu0.a)} ms\n`);
if (!profile) {
  rmSync(profDir, { recursive: true, force: true });
  process.exit(0);
}
print('workerd (edge: Worker + Durable Objects, one isolate)', profile, requests);
const agentFile = readdirSync(profDir).find((f) => f.includes(`.${agentPid}.`));
if (agentFile)
  print('agent (node --cpu-prof, whole run incl. start-up)', JSON.parse(readFileSync(path.join(profDir, agentFile), 'utf8')) as CpuProfile, requests);
else console.log(`no agent profile in ${profDir}`);
rmSync(profDir, { recursive: true, force: true });
process.exit(0);

/** A Chrome DevTools Protocol session with workerd's isolate. */
async function connect() {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  let nextId = 1;
  const waiting = new Map<number, (v: unknown) => void>();
  ws.on('message', (m) => {
    const msg = JSON.parse(String(m)) as { id?: number; result?: unknown };
    if (msg.id !== undefined) waiting.get(msg.id)?.(msg.result);
  });
  const call = <T>(method: string, params: Record<string, unknown> = {}) =>
    new Promise<T>((resolve) => {
      const id = nextId++;
      waiting.set(id, resolve as (v: unknown) => void);
      ws.send(JSON.stringify({ id, method, params }));
    });
  return { ws, call };
}

/** A function as `name  file:line`; for the edge bundle, its place in src/ (the name there when the map has one). */
function where(f: CpuProfile['nodes'][number]['callFrame']): string {
  const name = f.functionName || '(anonymous)';
  if (f.url.endsWith('index.js') && f.lineNumber >= 0) {
    const e = bundleMap.findEntry(f.lineNumber, f.columnNumber) as { originalSource?: string; originalLine?: number; name?: string };
    if (e.originalSource) return `${e.name ?? name}  ${e.originalSource.replace(/^.*?(src|node_modules)\//, '$1/')}:${(e.originalLine ?? 0) + 1}`;
  }
  return `${name}  ${path.basename(f.url) || '-'}:${f.lineNumber + 1}`;
}

/**
 * Self time by function, heaviest first, idle time left out of the shares; built-ins (the runtime's native code:
 * `exec`, `Response`, `encode`…) are charged to the JavaScript function that called them. Then the same by file.
 */
function print(title: string, p: CpuProfile, n: number): void {
  const byNode = new Map(p.nodes.map((x) => [x.id, x]));
  const parent = new Map<number, number>();
  for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
  const self = new Map<string, number>();
  const chains = new Map<string, Map<string, number>>();
  const files = new Map<string, number>();
  let busy = 0;
  p.samples.forEach((sample, i) => {
    let id = sample;
    const own = byNode.get(id)!.callFrame;
    if (own.functionName === '(idle)') return;
    const special = own.functionName.startsWith('(') && own.url === '';
    while (!special && byNode.get(id)!.callFrame.url === '' && parent.has(id)) {
      id = parent.get(id)!;
    }
    const us = p.timeDeltas[i] ?? 0;
    const key = where(byNode.get(id)!.callFrame);
    self.set(key, (self.get(key) ?? 0) + us);
    const callers: string[] = [];
    for (let up = parent.get(id); up !== undefined && callers.length < 3; up = parent.get(up)) callers.push(where(byNode.get(up)!.callFrame));
    const chain = chains.get(key) ?? new Map<string, number>();
    chain.set(callers.join(' < '), (chain.get(callers.join(' < ')) ?? 0) + us);
    chains.set(key, chain);
    const file = key.slice(key.indexOf('  ') + 2).replace(/:\d+$/, '');
    files.set(file, (files.get(file) ?? 0) + us);
    busy += us;
  });
  const rows = (m: Map<string, number>, k: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([key, us]) => `${((100 * us) / busy).toFixed(1).padStart(5)} %  ${(us / 1000 / n).toFixed(4)} ms/req  ${key}`);
  console.log(`## ${title}: ${(busy / 1000).toFixed(0)} ms busy, ${(busy / 1000 / n).toFixed(3)} ms per request\n`);
  console.log(['by function (built-ins charged to their caller):', ...rows(self, top), '', 'by file:', ...rows(files, 25), ''].join('\n'));
  const heaviest = [...self].sort((a, b) => b[1] - a[1]).slice(0, 8);
  console.log('callers of the heaviest (3 frames up):');
  for (const [key] of heaviest) console.log([`  ${key}`, ...rows(chains.get(key)!, 3).map((r) => `    ${r}`)].join('\n'));
  console.log('');
}
