import { spawn } from 'node:child_process';
import path from 'node:path';
import { Log, LogLevel, Miniflare } from 'miniflare';
import { startInstantEngine } from './instant-engine';
import { cpuSeconds, findDescendants } from './proc';
import { overhead, overheadRow, type OverheadResult, type Target } from './overhead';
import { fmt } from './stats';

/**
 * The platform's floor on this machine: the same measurement as B1/B2 (bench/overhead.ts,
 * same instant engine as the direct baseline, same rounds and concurrency), through the
 * least a Worker → Durable Object → WebSocket → node design can do. The Worker forwards to
 * one Durable Object; the object sends the body down a hibernatable WebSocket to a separate
 * Node process (bench/floor-peer.mjs), which answers in one frame with the instant
 * engine's answer built in place; the object returns it as the response. No keys, no
 * routing, no validation, no ledger, no agent or engine hop: what porten adds over this is
 * its own cost, and what this adds over direct is the floor no design of this shape gets
 * under on this machine.
 */
const WORKER = `
import { DurableObject } from 'cloudflare:workers';
export class Link extends DurableObject {
  pending = new Map();
  n = 0;
  async fetch(req) {
    if (req.headers.get('upgrade') === 'websocket') {
      const pair = new WebSocketPair();
      this.ctx.acceptWebSocket(pair[1]);
      return new Response(null, { status: 101, webSocket: pair[0] });
    }
    const body = await req.text();
    const ws = this.ctx.getWebSockets()[0];
    if (!ws) return new Response('no peer', { status: 503 });
    const id = ++this.n;
    ws.send(JSON.stringify({ id, body }));
    return new Promise((resolve) => this.pending.set(id, resolve));
  }
  webSocketMessage(_ws, message) {
    const m = JSON.parse(message);
    const resolve = this.pending.get(m.id);
    if (!resolve) return;
    this.pending.delete(m.id);
    resolve(new Response(m.body, { headers: { 'content-type': m.type } }));
  }
}
export default {
  fetch(req, env) {
    return env.LINK.get(env.LINK.idFromName('node')).fetch(req);
  },
};
`;

export interface FloorResult {
  results: OverheadResult[];
  /** workerd CPU per request through the floor, ms, for each of `results`. */
  workerdCpuMs: number[];
}

export async function floor(quick: boolean): Promise<FloorResult> {
  const engine = await startInstantEngine();
  const mf = new Miniflare({
    host: '127.0.0.1',
    port: 0,
    log: new Log(LogLevel.WARN),
    compatibilityDate: '2026-04-20',
    modules: true,
    script: WORKER,
    durableObjects: { LINK: { className: 'Link', useSQLite: true } },
    durableObjectsPersist: false,
  });
  const url = (await mf.ready).origin;
  const peer = spawn(process.execPath, [path.join(import.meta.dirname, 'floor-peer.mjs'), `${url.replace('http', 'ws')}/connect`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      peer.stdout.once('data', () => resolve());
      peer.once('exit', (code) => reject(new Error(`floor peer exited with ${code}`)));
    });
    const edge: Target = { url, headers: {}, model: 'instant' };
    const direct: Target = { url: engine.url, headers: {}, model: 'instant' };
    const rounds = quick ? 60 : 400;
    const workerd = findDescendants(process.pid, /workerd/);
    const cpu = () => workerd.reduce((n, pid) => n + cpuSeconds(pid), 0);
    const results: OverheadResult[] = [];
    const workerdCpuMs: number[] = [];
    const runs = [
      { name: 'floor: stream TTFT, 20 chunks', stream: true, rounds, warmup: 20, concurrency: 1 },
      { name: 'floor: non-streaming', stream: false, rounds, warmup: 20, concurrency: 1 },
      { name: 'floor: non-streaming', stream: false, rounds: quick ? 10 : 40, warmup: 3, concurrency: 32 },
    ];
    for (const run of runs) {
      const c0 = cpu();
      results.push(await overhead(run.name, direct, edge, { ...run, chunks: 20 }));
      workerdCpuMs.push(((cpu() - c0) * 1000) / ((run.rounds + run.warmup) * run.concurrency));
    }
    return { results, workerdCpuMs };
  } finally {
    peer.kill();
    await mf.dispose();
    await engine.close();
  }
}

/** The floor's section of RESULTS.md, with each of issue 13's overhead targets read against it. */
export function floorRows(r: FloorResult): string {
  const [ttft, , c32] = r.results;
  const versus = (label: string, floorMs: number, target: number) =>
    `- ${label}: floor ${fmt(floorMs)} ms against a target of ${target} ms: ${floorMs > target ? '**below the floor**, out of reach for any design of this shape here' : `${fmt(target - floorMs)} ms left for porten's own work`}.`;
  return [
    '## B1/B2 floor: the platform alone (bench/floor.ts)',
    '',
    "The same measurement as above, through a Worker that forwards to one Durable Object, which sends the body down a hibernatable WebSocket to a separate Node process that answers in one frame with the instant engine's answer built in place. No keys, routing, validation, ledger, agent or engine hop: what any Worker → Durable Object → socket → node design adds on this machine before doing anything.",
    '',
    '| benchmark | concurrency | rounds | direct | floor | added | inter-chunk gap added | identical content |',
    '|---|---|---|---|---|---|---|---|',
    ...r.results.map(overheadRow),
    '',
    `workerd CPU per request through the floor: ${r.workerdCpuMs.map((ms, i) => `${fmt(ms)} ms (${r.results[i].name.slice(7)}, c=${r.results[i].concurrency})`).join(', ')}; against issue 13's target of 1.5 ms for porten's whole warm path.`,
    '',
    versus('stream TTFT added p50, c=1', ttft.added.p50, 1.5),
    versus('stream TTFT added p99, c=1', ttft.added.p99, 5),
    versus('non-streaming added p50, c=32', c32.added.p50, 15),
  ].join('\n');
}
