import { PROTOCOL_VERSION, type EdgeToNode, type InferStart, type NodeHello, type NodeToEdge } from '../../src/protocol';
import type { AgentConfig } from './config';
import { scanInventory } from './inventory';
import { Link } from './link';
import { Loads } from './loads';
import type { Logger } from './log';
import { relay, type AbortReason } from './relay';

export const AGENT_VERSION = '0.1.0';
export const ENGINES = ['builtin', 'openai'];

interface Inflight { model: string; ac: AbortController }

export interface AgentOptions {
  config: AgentConfig;
  budgetMb: number;
  log: Logger;
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
  private draining = false;

  constructor(private readonly o: AgentOptions) {
    this.finished = new Promise((r) => (this.finish = r));
    const { config, log } = o;
    this.loads = new Loads({
      modelsDir: config.modelsDir,
      threads: config.threads,
      parallel: config.maxConcurrency,
      openaiUpstream: config.openaiUpstream,
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
      hello: () => this.hello(),
      onFrame: (f) => this.onFrame(f),
      onDisconnect: () => this.abortWhere(() => true, 'disconnected'),
      onFinal: (code, reason) => {
        log.error(`the edge closed the connection for good (code ${code}${reason ? `: ${reason}` : ''}); not reconnecting`);
        void this.stop().then(() => this.finish(1));
      },
      inflight: () => this.inflight.size,
    });
  }

  start(): void {
    this.o.log.info('starting', {
      node_id: this.o.config.nodeId, edge: this.o.config.edgeUrl, budget_mb: this.o.budgetMb,
      models_dir: this.o.config.modelsDir, region: this.o.config.region,
    });
    this.link.start();
  }

  /** Closes the socket, aborts in-flight requests and stops every engine. */
  async stop(): Promise<void> {
    this.link.stop();
    this.abortWhere(() => true, 'shutdown');
    await this.loads.stopAll();
  }

  private async hello(): Promise<NodeHello> {
    return {
      type: 'node.hello',
      v: PROTOCOL_VERSION,
      node_id: this.o.config.nodeId,
      agent_version: AGENT_VERSION,
      vram_budget_mb: this.o.budgetMb,
      engines: ENGINES,
      max_concurrency: this.o.config.maxConcurrency,
      loaded: this.loads.announce(),
      inventory: await scanInventory(this.o.config.modelsDir),
    };
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
        this.startInfer(f);
        return;
      case 'infer.cancel':
        this.inflight.get(f.id)?.ac.abort('cancelled' satisfies AbortReason);
        return;
      case 'error':
        this.o.log.warn('edge reported an error', { id: f.id, code: f.code, error: f.message });
        return;
    }
  }

  private startInfer(f: InferStart): void {
    const send = (frame: NodeToEdge) => this.link.send(frame);
    if (this.inflight.has(f.id)) {
      send({ type: 'error', id: f.id, code: 'bad_frame', message: 'a request with this id is already in flight' });
      return;
    }
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
    this.inflight.set(f.id, { model: f.model, ac });
    void relay(f, baseUrl, ac.signal, { send, whenWritable: () => this.link.whenWritable() }).finally(() => {
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
