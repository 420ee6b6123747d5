import { PROTOCOL_VERSION, type EdgeToNode, type InferStart, type NodeFeature, type NodeHello, type NodeToEdge } from '../../src/protocol';
import { Acks } from './acks';
import { BodyParts } from './body-parts';
import type { AgentConfig } from './config';
import { EXIT } from './exit-codes';
import { StreamCredit } from './credits';
import { scanInventory } from './inventory';
import { Link } from './link';
import { Loads } from './loads';
import type { Logger } from './log';
import type { Hardware } from './memory';
import { relay, type AbortReason } from './relay';
import type { RpcPool } from './rpc-pool';
import { StatusWriter, type Status } from './status';
import { AGENT_VERSION } from '../version';

export const ENGINES = ['builtin', 'openai'];
/** Protocol features this agent speaks (see NodeFeatureSchema). */
export const FEATURES: NodeFeature[] = ['accepted', 'credits', 'body_parts', 'ping'];

/** The engines this node's hello lists: `llama-server` only where its binary was found. */
export function nodeEngines(llamaServer: AgentOptions['llamaServer']): string[] {
  return llamaServer?.ok ? [...ENGINES, 'llama-server'] : ENGINES;
}

interface Inflight {
  model: string;
  ac: AbortController;
  credit: StreamCredit;
}

export interface AgentOptions {
  config: AgentConfig;
  /** Detected hardware and memory budget (memory.ts). */
  hardware: Hardware;
  log: Logger;
  /** The llama-server binary (`resolveLlamaBinary`), or why there is none. */
  llamaServer?: { ok: true; path: string } | { ok: false; error: string };
  /** A combined node: its budget is the pool's, and it re-announces when the pool changes. */
  rpc?: RpcPool;
}

/**
 * Wires edge frames to the loads and the relay. Resolves `finished` with the
 * process exit code once the edge closed with a final code.
 */
export class Agent {
  readonly finished: Promise<number>;
  private finish!: (code: number) => void;
  private readonly link: Link;
  private readonly loads: Loads;
  private readonly inflight = new Map<string, Inflight>();
  /** Requests not yet answered: acknowledged unless answered within ACK_DELAY_MS (acks.ts). */
  private readonly acks = new Acks((id) => this.link.send({ type: 'infer.accepted', id }));
  private readonly bodies: BodyParts;
  private draining = false;
  private readonly startedAt = Date.now();
  private linkState: Status['link'] = { state: 'connecting', since: Date.now() };
  private readonly status: StatusWriter;

  constructor(private readonly o: AgentOptions) {
    this.finished = new Promise((r) => (this.finish = r));
    const { config, log } = o;
    this.bodies = new BodyParts((id) => this.sendFor({ type: 'infer.error', id, code: 'bad_frame', message: 'request body parts stopped arriving' }));
    this.loads = new Loads({
      modelsDir: config.modelsDir,
      threads: config.threads ?? o.hardware.threads,
      parallel: config.maxConcurrency,
      openaiUpstream: config.openaiUpstream,
      openaiUpstreamAllow: config.openaiUpstreamAllow,
      hf: { endpoint: config.hfEndpoint, token: config.hfToken },
      ggufEngine: config.ggufEngine,
      llamaServer: o.llamaServer,
      rpc: o.rpc,
      log: log.child('loads'),
      send: (f) => this.link.send(f),
      onCrash: (model) => this.abortWhere((i) => i.model === model, 'engine_failed'),
      onInventoryChanged: () => void scanInventory(config.modelsDir).then((inventory) => this.link.send({ type: 'node.inventory', inventory })),
    });
    this.link = new Link({
      edgeUrl: config.edgeUrl,
      nodeId: config.nodeId,
      nodeKey: config.nodeKey ?? '',
      log: log.child('link'),
      hello: () => {
        this.setLink('connected');
        return this.hello();
      },
      onFrame: (f) => this.onFrame(f),
      onDisconnect: () => {
        this.setLink('disconnected');
        this.bodies.clear();
        this.abortWhere(() => true, 'disconnected');
      },
      onFinal: (code, reason) => {
        this.setLink('closed', `code ${code}${reason ? `: ${reason}` : ''}`);
        log.error(`the edge closed the connection for good (code ${code}${reason ? `: ${reason}` : ''}); not reconnecting`);
        void this.stop().then(() => this.finish(EXIT.refused));
      },
      inflight: () => this.inflight.size,
    });
    this.status = new StatusWriter(
      config.statusFile,
      () => this.statusSnapshot(),
      (error) => log.warn('cannot write the status file', { error }),
    );
  }

  start(): void {
    this.o.log.info('starting', {
      node_id: this.o.config.nodeId,
      edge: this.o.config.edgeUrl,
      budget_mb: this.budgetMb(),
      models_dir: this.o.config.modelsDir,
      region: this.o.config.region,
      status_file: this.o.config.statusFile,
    });
    this.link.start();
    this.status.start();
  }

  /** Closes the socket, aborts in-flight requests and stops every engine. */
  async stop(): Promise<void> {
    this.link.stop();
    this.abortWhere(() => true, 'shutdown');
    await this.loads.stopAll();
    await this.status.stop();
  }

  private setLink(state: Status['link']['state'], detail?: string): void {
    if (state !== this.linkState.state || detail) this.linkState = { state, since: Date.now(), detail };
  }

  private hardwareFrame(): NonNullable<NodeHello['hardware']> {
    const h = this.o.hardware;
    return { backend: h.backend, driver: h.driver, gpus: h.gpus, budget_source: h.budget.source, threads: this.o.config.threads ?? h.threads };
  }

  private statusSnapshot(): Status {
    const models = this.loads.snapshot();
    return {
      v: 1,
      pid: process.pid,
      version: AGENT_VERSION,
      started_at: this.startedAt,
      updated_at: Date.now(),
      node_id: this.o.config.nodeId,
      edge: this.o.config.edgeUrl,
      link: this.linkState,
      budget: this.budget(),
      used_mb: Math.round(models.reduce((sum, m) => sum + (m.vram_mb ?? 0), 0)),
      hardware: this.hardwareFrame(),
      inflight: this.inflight.size,
      models,
    };
  }

  private async hello(): Promise<NodeHello> {
    return {
      type: 'node.hello',
      v: PROTOCOL_VERSION,
      node_id: this.o.config.nodeId,
      agent_version: AGENT_VERSION,
      vram_budget_mb: this.budgetMb(),
      engines: nodeEngines(this.o.llamaServer),
      max_concurrency: this.o.config.maxConcurrency,
      loaded: this.loads.announce(),
      inventory: await scanInventory(this.o.config.modelsDir),
      hardware: this.hardwareFrame(),
      features: FEATURES,
    };
  }

  /** The memory this node offers: a combined node's pool changes as workers come and go. */
  budgetMb(): number {
    return this.o.rpc ? this.o.rpc.budgetMb() : this.o.hardware.budget.mb;
  }

  /** The budget and where it came from, for the status file; a combined node's is the pool's. */
  private budget(): Status['budget'] {
    const own = this.o.hardware.budget;
    if (!this.o.rpc) return own;
    return { mb: this.budgetMb(), source: 'rpc-pool', detail: `this machine ${own.mb} MiB (${own.source}) + what its live RPC workers lend` };
  }

  /** Sends a fresh hello on the live connection, so the Hub sees a changed budget (it upserts the node). */
  reannounce(): void {
    void this.hello().then((h) => this.link.send(h));
  }

  /** A combined node lost a worker that `model` runs on. */
  workerLost(model: string, reason: string): void {
    void this.loads.fail(model, reason);
  }

  private onFrame(f: Exclude<EdgeToNode, { type: 'hub.welcome' }>): void {
    switch (f.type) {
      case 'hub.load':
        this.draining = false;
        this.loads.load(f);
        return;
      case 'hub.unload':
        void this.loads.unload(f);
        return;
      case 'hub.drain':
        this.draining = true;
        this.o.log.info('draining: no new requests; unloading when idle');
        this.maybeDrained();
        return;
      case 'infer.start':
        this.receiveStart(f);
        return;
      case 'infer.body':
        this.receivePart(f.id, f.seq, f.data);
        return;
      case 'infer.credit':
        this.inflight.get(f.id)?.credit.credit(f.bytes);
        return;
      case 'infer.cancel':
        this.bodies.cancel(f.id);
        this.inflight.get(f.id)?.ac.abort('cancelled' satisfies AbortReason);
        return;
      case 'hub.pong':
        return;
      case 'error':
        this.o.log.warn('edge reported an error', { id: f.id, code: f.code, error: f.message });
        return;
    }
  }

  /** A request arrives: acknowledged at once (the edge's first-reply deadline), then started or, for a split body, held for its parts. */
  private receiveStart(f: InferStart): void {
    const send = (frame: NodeToEdge) => this.sendFor(frame);
    if (this.inflight.has(f.id) || this.bodies.has(f.id)) {
      // Not sendFor: this answers the duplicate, and the original's acknowledgement still stands.
      this.link.send({ type: 'error', id: f.id, code: 'bad_frame', message: 'a request with this id is already in flight' });
      return;
    }
    this.acks.arm(f.id);
    if (f.body_parts) {
      this.bodies.begin(f);
      return;
    }
    if (!f.body) {
      send({ type: 'infer.error', id: f.id, code: 'bad_frame', message: 'infer.start needs body or body_parts' });
      return;
    }
    this.startInfer({ ...f, body: f.body });
  }

  private receivePart(id: string, seq: number, data: string): void {
    const r = this.bodies.add(id, seq, data);
    if (r.kind === 'error') this.sendFor({ type: 'infer.error', id, code: 'bad_frame', message: r.message });
    else if (r.kind === 'complete') this.startInfer(r.start);
  }

  /** A frame answering a request: its first one stands for the acknowledgement. False when the link is down (link.send). */
  private sendFor(frame: NodeToEdge): boolean {
    if ('id' in frame && frame.id !== undefined) this.acks.answered(frame.id);
    return this.link.send(frame);
  }

  private startInfer(f: InferStart & { body: Record<string, unknown> }): void {
    const send = (frame: NodeToEdge) => this.sendFor(frame);
    const baseUrl = this.loads.ready(f.model);
    if (!baseUrl) {
      send({ type: 'infer.error', id: f.id, code: 'unknown_model', message: `model ${f.model} is not ready on this node` });
      return;
    }
    if (this.draining || this.inflight.size >= this.o.config.maxConcurrency) {
      const why = this.draining ? 'node is draining' : `node is at its concurrency limit (${this.o.config.maxConcurrency})`;
      send({ type: 'infer.error', id: f.id, code: 'busy', message: why });
      return;
    }
    const ac = new AbortController();
    const credit = new StreamCredit(f.window);
    this.inflight.set(f.id, { model: f.model, ac, credit });
    const log = this.o.log;
    const normalise = this.loads.normaliser(f.model);
    void relay(f, baseUrl, ac.signal, {
      send,
      credit,
      normalise,
      whenWritable: () => this.link.whenWritable(),
      onDone: (r) =>
        log.info('request', {
          id: f.id,
          request_id: f.request_id,
          model: f.model,
          path: f.path,
          status: r.status,
          ttft_ms: r.timings?.ttft_ms,
          total_ms: r.timings?.total_ms,
          error: r.error,
          aborted: ac.signal.aborted ? String(ac.signal.reason) : undefined,
        }),
    }).finally(() => {
      this.inflight.delete(f.id);
      this.maybeDrained();
    });
  }

  private abortWhere(pred: (i: Inflight) => boolean, reason: AbortReason): void {
    for (const i of this.inflight.values()) if (pred(i)) i.ac.abort(reason);
  }

  private maybeDrained(): void {
    if (!this.draining || this.inflight.size > 0) return;
    for (const model of this.loads.models()) void this.loads.unload({ model });
  }
}
