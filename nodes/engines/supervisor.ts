import { lineFeeder } from './lines';
import { spawn, type ChildProcess } from 'node:child_process';
import type { EngineCommand } from './args';
import { signalTree, track } from './children';
import { freePort } from './ports';
import { transition, type EngineEffect, type EngineEvent, type EngineState } from './supervisor-state';

export type Health = { ready: true; vramMb?: number } | { ready: false; detail?: string };

/** What differs between engines; the supervisor owns everything else. */
export interface EngineSpec {
  /** The process to run on `port`, or undefined when fronting a server that already runs elsewhere. */
  command?: (port: number) => EngineCommand & { cwd?: string; env?: Record<string, string> };
  baseUrl: (port: number) => string;
  probe: (baseUrl: string, signal: AbortSignal) => Promise<Health>;
}

export interface SupervisorOptions {
  startTimeoutMs?: number;
  graceMs?: number;
  pollMs?: number;
  /** The engine died while serving (not during a stop): its in-flight requests must fail. */
  onCrash?: (reason: string) => void;
  onOutput?: (line: string) => void;
}

const STDERR_TAIL = 2000;

/**
 * One engine process through `stopped → starting → ready → stopping → failed`.
 * Decisions come from the pure `transition`; this class only performs effects.
 * `ensureReady` joins a start in progress and is safe to call in any state.
 */
export class Supervisor {
  state: EngineState = 'stopped';
  baseUrl: string | undefined;
  vramMb: number | undefined;
  lastError: string | undefined;
  private child: ChildProcess | undefined;
  private generation = 0;
  private stderrTail = '';
  private readyWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private stopWaiters: (() => void)[] = [];
  private timers = new Set<NodeJS.Timeout>();
  private readonly opts: Required<Omit<SupervisorOptions, 'onCrash' | 'onOutput'>> & SupervisorOptions;

  constructor(
    private readonly spec: EngineSpec,
    opts: SupervisorOptions = {},
  ) {
    this.opts = {
      ...opts,
      startTimeoutMs: opts.startTimeoutMs ?? 120_000,
      graceMs: opts.graceMs ?? 5_000,
      pollMs: opts.pollMs ?? 150,
    };
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async ensureReady(): Promise<{ baseUrl: string; vramMb?: number }> {
    if (this.state === 'stopping') await this.stop();
    if (this.state !== 'ready') {
      const waiting = new Promise<void>((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
      this.dispatch({ type: 'start' });
      await waiting;
    }
    return { baseUrl: this.baseUrl!, vramMb: this.vramMb };
  }

  /** Graceful stop (SIGTERM, SIGKILL after the grace period); resolves once the process is gone. */
  stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'failed') return Promise.resolve();
    const done = new Promise<void>((resolve) => this.stopWaiters.push(resolve));
    this.dispatch({ type: 'stop' });
    return done;
  }

  private dispatch(event: EngineEvent, reason?: string): void {
    const before = this.state;
    const t = transition(before, event);
    this.state = t.state;
    if (t.state === 'stopped' || t.state === 'failed' || t.state === 'stopping') this.baseUrl = undefined;
    if (reason && t.state === 'failed') this.lastError = reason;
    for (const effect of t.effects) this.run(effect, reason);
  }

  private run(effect: EngineEffect, reason?: string): void {
    switch (effect) {
      case 'spawn':
        void this.launch(++this.generation);
        return;
      case 'terminate':
        this.clearTimers();
        this.rejectReady(new Error('engine stopped before it was ready'));
        if (!this.child) {
          queueMicrotask(() => this.dispatch({ type: 'exit' }));
          return;
        }
        signalTree(this.child, 'SIGTERM');
        this.timer(this.opts.graceMs, () => this.dispatch({ type: 'grace_expired' }));
        return;
      case 'kill':
        if (this.child) signalTree(this.child, 'SIGKILL');
        return;
      case 'fail_inflight':
        this.opts.onCrash?.(reason ?? 'engine exited');
        return;
      case 'settle_ready':
        this.clearTimers();
        for (const w of this.readyWaiters.splice(0)) w.resolve();
        return;
      case 'settle_failed':
        this.clearTimers();
        this.rejectReady(new Error(reason ?? this.lastError ?? 'engine failed'));
        return;
      case 'settle_stopped':
        this.clearTimers();
        for (const w of this.stopWaiters.splice(0)) w();
        return;
    }
  }

  private async launch(gen: number): Promise<void> {
    this.stderrTail = '';
    this.vramMb = undefined;
    let port = 0;
    try {
      if (this.spec.command) port = await freePort();
    } catch (err) {
      if (gen === this.generation) this.dispatch({ type: 'spawn_error' }, `no free port: ${(err as Error).message}`);
      return;
    }
    if (gen !== this.generation || this.state !== 'starting') return;
    this.baseUrl = this.spec.baseUrl(port);
    this.timer(this.opts.startTimeoutMs, () =>
      this.dispatch({ type: 'start_timeout' }, `engine not ready after ${Math.round(this.opts.startTimeoutMs / 1000)} s${this.tail()}`),
    );
    if (this.spec.command) this.spawnChild(port, gen);
    void this.poll(gen);
  }

  private spawnChild(port: number, gen: number): void {
    const c = this.spec.command!(port);
    const child = spawn(c.cmd, c.args, {
      cwd: c.cwd,
      env: { ...process.env, ...c.env, PORTEN_PARENT_PID: String(process.pid) },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group so stop/kill reaches helpers the engine forks.
      detached: true,
    });
    this.child = child;
    track(child);
    const watch = (stream: NodeJS.ReadableStream) => {
      // Decoded per stream, so a character split across chunks stays whole; lines likewise (lineFeeder).
      stream.setEncoding('utf8');
      const lines = lineFeeder((line) => this.opts.onOutput?.(line));
      stream.on('data', (s: string) => {
        this.stderrTail = (this.stderrTail + s).slice(-STDERR_TAIL);
        lines.push(s);
      });
      stream.once('end', () => lines.end());
    };
    watch(child.stdout!);
    watch(child.stderr!);
    child.once('error', (err) => {
      if (gen !== this.generation) return;
      this.child = undefined;
      this.dispatch({ type: 'spawn_error' }, `cannot start engine: ${err.message}`);
    });
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      // A process from an earlier generation (killed after a start timeout) must not fail its successor.
      if (gen !== this.generation) return;
      const how = signal ? `signal ${signal}` : `code ${code}`;
      this.dispatch({ type: 'exit' }, `engine exited with ${how}${this.tail()}`);
    });
  }

  private async poll(gen: number): Promise<void> {
    while (gen === this.generation && this.state === 'starting') {
      const ac = new AbortController();
      const t = setTimeout(() => ac.abort(), 2000);
      let health: Health;
      try {
        health = await this.spec.probe(this.baseUrl!, ac.signal);
      } catch (err) {
        health = { ready: false, detail: (err as Error).message };
      } finally {
        clearTimeout(t);
      }
      if (gen !== this.generation || this.state !== 'starting') return;
      if (health.ready) {
        this.vramMb = health.vramMb;
        this.dispatch({ type: 'healthy' });
        return;
      }
      await new Promise((r) => setTimeout(r, this.opts.pollMs));
    }
  }

  private rejectReady(err: Error): void {
    for (const w of this.readyWaiters.splice(0)) w.reject(err);
  }

  private tail(): string {
    const t = this.stderrTail.trim();
    return t ? `: ${t.slice(-600)}` : '';
  }

  private timer(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
