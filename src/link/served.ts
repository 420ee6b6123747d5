import type { ModelPhase, NodeFeature, NodeHello } from '../protocol';

interface State {
  connId: string;
  maxConcurrency: number;
  features: NodeFeature[];
  phases: Record<string, ModelPhase>;
  /** The hello this connection began with, replayed to a Hub that lost track of the node (`resync`). */
  hello: NodeHello;
}

const KEY = 'served';

/**
 * What the NodeLink's node serves, from the frames it sees: the hello's
 * loaded models and every `model.state`, plus the stops the Hub ordered. The
 * NodeLink admits a request only for a model in phase `ready`. Kept in the
 * object's storage (written only when a phase changes, which is rare) so an
 * eviction while the socket hibernates forgets nothing.
 */
export class ServedModels {
  private state: State | null;

  constructor(private readonly kv: SyncKvStorage) {
    this.state = kv.get<State>(KEY) ?? null;
  }

  /** A new connection said hello: everything known about the old one is replaced. */
  hello(connId: string, h: NodeHello): void {
    const phases: Record<string, ModelPhase> = {};
    for (const l of h.loaded) phases[l.model] = l.phase;
    this.state = { connId, maxConcurrency: h.max_concurrency, features: h.features ?? [], phases, hello: h };
    this.save();
  }

  /** A phase the node reported, or `stopping` when the Hub ordered an unload. Ignored for a connection that is not current. */
  set(connId: string, model: string, phase: ModelPhase): void {
    if (!this.state || this.state.connId !== connId || this.state.phases[model] === phase) return;
    if (phase === 'stopped') delete this.state.phases[model];
    else this.state.phases[model] = phase;
    this.save();
  }

  ready(connId: string, model: string): boolean {
    return this.state?.connId === connId && this.state.phases[model] === 'ready';
  }

  phase(connId: string, model: string): ModelPhase | undefined {
    return this.state?.connId === connId ? this.state.phases[model] : undefined;
  }

  maxConcurrency(connId: string): number {
    return this.state?.connId === connId ? this.state.maxConcurrency : 0;
  }

  has(connId: string, feature: NodeFeature): boolean {
    return this.state?.connId === connId && this.state.features.includes(feature);
  }

  /** The hello to replay for `connId`, with the phases as they are now. */
  replay(connId: string): NodeHello | null {
    const s = this.state;
    if (!s || s.connId !== connId) return null;
    return { ...s.hello, loaded: Object.entries(s.phases).map(([model, phase]) => ({ model, phase })) };
  }

  private save(): void {
    this.kv.put(KEY, this.state);
  }
}
