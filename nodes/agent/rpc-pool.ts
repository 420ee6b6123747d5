import { execFile } from 'node:child_process';
import { probeRpcServer, rpcPortOpen, rpcPortState } from '../engines/rpc-client';
import { fetchWorkerStatus } from '../engines/rpc-status';
import type { Logger } from './log';
import { lentMb, type Placement, parseListDevices, placeLayers, type RpcWorkerSpec } from './rpc-pool-plan';

interface Worker {
  spec: RpcWorkerSpec;
  up: boolean;
  lentMb: number;
  detail: string;
  /** `porten`: a `porten worker` with its status port (reliable liveness); `plain`: a bare ggml-rpc-server. */
  kind: 'porten' | 'plain';
  /** Consecutive liveness checks that got no answer (a timeout is not proof of loss on its own). */
  misses: number;
}

/** Checks without an answer after which a worker counts as lost. */
const MISSES_LOST = 3;

export interface RpcPoolOptions {
  workers: RpcWorkerSpec[];
  /** This machine's own budget, pooled with the workers'. */
  localMb: number;
  log: Logger;
  /** The llama-server binary, asked once for this machine's own devices (`--list-devices`). */
  llamaServer?: string;
  /** How often workers are checked; `PORTEN_RPC_PROBE_MS`, default 1000. */
  probeMs?: number;
  /** The pooled budget changed: the node re-announces it. */
  onChange: () => void;
  /** A worker stopped answering: fail the model that uses it. */
  onLost: (model: string, reason: string) => void;
}

export class PoolBusy extends Error {}

/**
 * The workers of a combined node. Learns each worker's memory from the worker
 * itself (llama.cpp RPC: HELLO, DEVICE_COUNT, GET_DEVICE_MEMORY), watches them
 * (a TCP connect every `probeMs`: the only check that works while llama-server
 * holds a worker, since ggml-rpc-server serves one client at a time), and
 * places one model at a time across the live ones.
 */
export class RpcPool {
  private readonly workers: Worker[];
  private localDevices = 0;
  private holder: { model: string; endpoints: string[] } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(private readonly o: RpcPoolOptions) {
    this.workers = o.workers.map((spec) => ({ spec, up: false, lentMb: 0, detail: 'not probed yet', kind: 'plain', misses: 0 }));
  }

  /** Probes every worker once (a worker that is down is reported and left out), then keeps watching. */
  async start(): Promise<void> {
    this.localDevices = await this.countLocalDevices();
    await Promise.all(this.workers.map((w) => this.probe(w)));
    for (const w of this.workers) {
      if (w.up) this.o.log.info('rpc worker up', { worker: w.spec.endpoint, lent_mb: w.lentMb, kind: w.kind });
      else this.o.log.error('rpc worker unavailable; left out of the budget until it answers', { worker: w.spec.endpoint, error: w.detail });
    }
    this.o.log.info('combined node', {
      budget_mb: this.budgetMb(),
      local_mb: this.o.localMb,
      local_devices: this.localDevices,
      workers_up: this.live().length,
    });
    const every = this.o.probeMs ?? 1000;
    this.timer = setInterval(() => void this.check(), every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** The node's budget: its own memory plus what the live workers lend. */
  budgetMb(): number {
    return this.o.localMb + this.live().reduce((s, w) => s + w.lentMb, 0);
  }

  /**
   * Where `model` goes. Throws PoolBusy while another model holds the
   * workers: each ggml-rpc-server serves one client at a time, so a second
   * llama-server would wait on it forever.
   */
  place(model: string, nLayers?: number): Placement {
    if (this.holder && this.holder.model !== model) {
      throw new PoolBusy(`the RPC workers are serving ${this.holder.model}; a combined node runs one model at a time across them`);
    }
    const live = this.live();
    const placement = placeLayers({
      localMb: this.o.localMb,
      localDevices: this.localDevices,
      workers: live.map((w) => ({ endpoint: w.spec.endpoint, lentMb: w.lentMb })),
      nLayers,
    });
    this.holder = { model, endpoints: placement.endpoints };
    this.o.log.info('placing across workers', {
      model,
      workers: placement.endpoints.join(',') || 'none',
      split: placement.split.join(','),
      gpu_layers: placement.gpuLayers,
    });
    return placement;
  }

  /** The workers `model` runs on (empty when it holds none). */
  endpointsOf(model: string): string[] {
    return this.holder?.model === model ? [...this.holder.endpoints] : [];
  }

  /**
   * Which of `endpoints` are certainly gone (refused, or their status says so), asked for up to
   * `withinMs`: an engine that aborts on a lost worker can exit before that worker's host has
   * finished closing its sockets.
   */
  async unreachable(endpoints: string[], withinMs = 2000): Promise<string[]> {
    const ws = this.workers.filter((w) => endpoints.includes(w.spec.endpoint));
    const deadline = Date.now() + withinMs;
    for (;;) {
      const answers = await Promise.all(ws.map((w) => this.alive(w, true)));
      const dead = ws.filter((_, i) => answers[i] === 'no').map((w) => w.spec.endpoint);
      if (dead.length > 0 || Date.now() >= deadline) return dead;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The model no longer uses the workers (unloaded, failed or crashed). */
  release(model: string): void {
    if (this.holder?.model === model) this.holder = undefined;
  }

  private live(): Worker[] {
    return this.workers.filter((w) => w.up);
  }

  /** Learns a worker's memory (RPC) and what its owner lends (status port). Only while no model holds it. */
  private async probe(w: Worker): Promise<void> {
    const [status, r] = await Promise.all([fetchWorkerStatus(w.spec.endpoint), probeRpcServer(w.spec.endpoint)]);
    if (r.state === 'up') {
      const lend = status.kind === 'status' ? status.status.lend_mb : null;
      const cap = [w.spec.capMb, lend ?? undefined].filter((v): v is number => v !== undefined);
      w.up = true;
      w.kind = status.kind === 'status' ? 'porten' : 'plain';
      w.misses = 0;
      w.lentMb = lentMb({ ...w.spec, capMb: cap.length ? Math.min(...cap) : undefined }, r.devices);
      w.detail = `protocol ${r.version}, ${r.devices.length} device(s)`;
    } else {
      w.up = false;
      w.lentMb = 0;
      w.detail = r.detail;
    }
  }

  /** Whether a live worker still answers: its status port when it has one, else its RPC port. */
  private async alive(w: Worker, held: boolean): Promise<'yes' | 'no' | 'unsure'> {
    if (w.kind === 'porten') {
      const st = await fetchWorkerStatus(w.spec.endpoint);
      if (st.kind === 'status') return st.status.alive ? 'yes' : 'no';
      return st.kind === 'unreachable' ? 'unsure' : 'no';
    }
    const port = await rpcPortState(w.spec.endpoint, 1500);
    if (port === 'refused') return 'no';
    // A held bare rpc-server cannot tell busy from gone (see rpcPortState); only a refusal counts then.
    return port === 'open' ? 'yes' : held ? 'yes' : 'unsure';
  }

  private lose(w: Worker, why: string): void {
    w.up = false;
    w.lentMb = 0;
    w.misses = 0;
    w.detail = why;
    this.o.log.error('rpc worker lost', { worker: w.spec.endpoint, why });
    const held = this.holder;
    if (held?.endpoints.includes(w.spec.endpoint)) {
      this.holder = undefined;
      this.o.onLost(held.model, `RPC worker ${w.spec.endpoint} is unreachable`);
    }
  }

  private async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      let changed = false;
      for (const w of this.workers) {
        const held = !!this.holder?.endpoints.includes(w.spec.endpoint);
        if (w.up) {
          const a = await this.alive(w, held);
          if (a === 'yes') w.misses = 0;
          else if (a === 'no' || ++w.misses >= MISSES_LOST) {
            this.lose(w, a === 'no' ? 'stopped answering' : `no answer to ${MISSES_LOST} checks`);
            changed = true;
          }
        } else if (!this.holder && (await rpcPortOpen(w.spec.endpoint, 1000))) {
          // Back (or up for the first time): learn its memory again. Only while no model holds the
          // workers: a probe of a worker that serves another client would just wait.
          await this.probe(w);
          if (w.up) {
            changed = true;
            this.o.log.info('rpc worker up', { worker: w.spec.endpoint, lent_mb: w.lentMb, kind: w.kind });
          }
        }
      }
      if (changed) {
        this.o.log.info('combined node budget changed', { budget_mb: this.budgetMb(), workers_up: this.live().length });
        this.o.onChange();
      }
    } finally {
      this.checking = false;
    }
  }

  private countLocalDevices(): Promise<number> {
    const bin = this.o.llamaServer;
    if (!bin) return Promise.resolve(0);
    return new Promise((resolve) => {
      execFile(bin, ['--list-devices'], { timeout: 30_000 }, (err, stdout, stderr) => {
        resolve(err ? 0 : parseListDevices(`${stdout}\n${stderr}`).length);
      });
    });
  }
}
