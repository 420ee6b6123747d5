import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { HubLoad, LoadedModel, ModelPhase, ModelState, NodeErrorCode } from '../../src/protocol';
import { DownloadError } from '../download/index';
import { ensureModelFiles } from '../download/model-files';
import { redactText } from '../download/redact';
import type { HfSettings } from '../download/resolve-url';
import { modelFileName, upstreamBase } from '../engines/args';
import { builtinSpec } from '../engines/builtin';
import { llamaServerLoad } from '../engines/llama-server-load';
import { openaiSpec } from '../engines/openai';
import { Supervisor, type EngineSpec } from '../engines/supervisor';
import { recordModelId } from './inventory';
import { adoptLegacyWeights } from './legacy-weights';
import type { Logger } from './log';
import type { RelayNormaliser } from './relay';
import { PoolBusy, type RpcPool } from './rpc-pool';
import { terminalProgress } from './progress-bar';

export const PROGRESS_INTERVAL_MS = 250;

export interface LoadsDeps {
  modelsDir: string;
  threads: number;
  parallel: number;
  /** The upstream this node's owner fronts with engine `openai` (`--openai-upstream`). */
  openaiUpstream?: string;
  /** Further upstreams a catalog entry may name (`--openai-upstream-allow`); no other URL is ever fronted. */
  openaiUpstreamAllow?: string[];
  /** Where hf:// resolves and the token for it (the agent's configuration). */
  hf?: HfSettings;
  /** Which engine runs GGUF models whose catalog entry says `builtin` (default builtin; see docs/engines.md). */
  ggufEngine?: 'builtin' | 'llama-server';
  /** The llama-server binary, or why there is none (then `llama-server` loads fail with that reason). */
  llamaServer?: { ok: true; path: string } | { ok: false; error: string };
  /** A combined node's workers: every GGUF model runs on llama-server across them (docs/combined-machines.md). */
  rpc?: RpcPool;
  log: Logger;
  send: (frame: ModelState) => void;
  /** The model's engine died while serving; its in-flight requests must fail. */
  onCrash: (model: string) => void;
  onInventoryChanged: () => void;
  startTimeoutMs?: number;
}

interface Entry {
  model: string;
  phase: ModelPhase;
  supervisor?: Supervisor;
  /** Set for engines whose answers the relay reshapes (llama-server). */
  normaliser?: RelayNormaliser;
  loading?: Promise<void>;
  download?: AbortController;
  unloading?: boolean;
  /** Why `fail()` stopped this model while it was still loading (reported instead of the stop itself). */
  failReason?: string;
  error?: { code: NodeErrorCode; message: string };
  /** The download's latest progress, for `porten status`. */
  progress?: { done_bytes: number; total_bytes: number; bytes_per_sec: number };
}

class LoadFailure extends Error {
  constructor(
    readonly code: NodeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Owns the models on this node: download → engine start → ready, unload, crash
 * reports. One load per model at a time; a second hub.load joins the first.
 */
export class Loads {
  private entries = new Map<string, Entry>();
  /** Engine stops in progress: memory they hold is counted free by the edge's planner, so loads wait for them. */
  private stops = new Set<Promise<void>>();

  constructor(private readonly d: LoadsDeps) {}

  /** The engine base URL of a model that is ready, else undefined. */
  ready(model: string): string | undefined {
    const e = this.entries.get(model);
    return e?.phase === 'ready' && e.supervisor?.state === 'ready' ? e.supervisor.baseUrl : undefined;
  }

  /** The relay adapter of a ready model's engine, if it has one. */
  normaliser(model: string): RelayNormaliser | undefined {
    return this.entries.get(model)?.normaliser;
  }

  /** What a (re)connecting hello announces: every model not stopped or failed. */
  announce(): LoadedModel[] {
    const out: LoadedModel[] = [];
    for (const e of this.entries.values()) {
      if (e.phase === 'stopped' || e.phase === 'failed') continue;
      out.push({ model: e.model, phase: e.phase, vram_mb: e.phase === 'ready' ? e.supervisor?.vramMb : undefined });
    }
    return out;
  }

  load(f: HubLoad): void {
    let e = this.entries.get(f.model);
    if (e && !e.loading && this.ready(f.model)) {
      this.report(e, f.id);
      return;
    }
    if (e?.loading) {
      void e.loading.then(() => this.report(e!, f.id));
      return;
    }
    if (!e) {
      e = { model: f.model, phase: 'stopped' };
      this.entries.set(f.model, e);
    }
    const entry = e;
    entry.unloading = false;
    entry.error = undefined;
    entry.loading = this.run(entry, f).finally(() => (entry.loading = undefined));
  }

  async unload(f: { id?: string; model: string }): Promise<void> {
    const e = this.entries.get(f.model);
    if (!e) {
      this.d.send({ type: 'model.state', id: f.id, model: f.model, phase: 'stopped' });
      return;
    }
    e.unloading = true;
    e.download?.abort();
    if (e.supervisor && e.supervisor.state !== 'stopped' && e.supervisor.state !== 'failed') {
      this.set(e, 'stopping', f.id);
      const stop = e.supervisor.stop();
      this.stops.add(stop);
      await stop.finally(() => this.stops.delete(stop));
    }
    await e.loading?.catch(() => undefined);
    this.d.rpc?.release(f.model);
    this.entries.delete(f.model);
    e.phase = 'stopped';
    this.d.send({ type: 'model.state', id: f.id, model: f.model, phase: 'stopped' });
    this.d.log.info('model unloaded', { model: f.model });
  }

  models(): string[] {
    return [...this.entries.keys()];
  }

  /** Every model this node holds or works on, for the local status file. */
  snapshot(): Array<{ model: string; phase: ModelPhase; vram_mb?: number; error?: Entry['error'] } & Partial<NonNullable<Entry['progress']>>> {
    return [...this.entries.values()].map((e) => ({
      model: e.model,
      phase: e.phase,
      vram_mb: e.phase === 'ready' ? e.supervisor?.vramMb : undefined,
      ...(e.phase === 'downloading' ? e.progress : undefined),
      error: e.phase === 'failed' ? e.error : undefined,
    }));
  }

  /** Stops every engine (agent shutdown). */
  async stopAll(): Promise<void> {
    await Promise.all(
      [...this.entries.values()].map(async (e) => {
        e.unloading = true;
        e.download?.abort();
        await e.supervisor?.stop();
      }),
    );
  }

  private async run(e: Entry, f: HubLoad): Promise<void> {
    const log = this.d.log.child(f.model);
    try {
      const spec = f.engine === 'openai' ? this.upstream(f) : await this.engineFor(e, f, await this.fetchWeights(e, f));
      if (e.unloading) return;
      // A failed or stopped engine is replaced: its spec (binary, placement) may be stale.
      if (!e.supervisor || e.supervisor.state === 'failed' || e.supervisor.state === 'stopped') {
        e.supervisor = new Supervisor(spec, {
          startTimeoutMs: this.d.startTimeoutMs,
          onCrash: (reason) => this.crashed(e, reason),
          onOutput: (spec as { onOutput?: (line: string) => void }).onOutput,
        });
      }
      this.set(e, 'loading', f.id);
      await Promise.all(this.stops);
      if (e.unloading) return;
      const { vramMb } = await e.supervisor.ensureReady();
      if (e.unloading) return;
      this.set(e, 'ready', f.id, { vram_mb: vramMb });
      log.info('model ready', { engine: e.normaliser ? 'llama-server' : f.engine, vram_mb: vramMb, pid: e.supervisor.pid });
    } catch (err) {
      if (e.unloading) return;
      let code: NodeErrorCode = err instanceof DownloadError || err instanceof LoadFailure ? err.code : 'load_failed';
      const message = e.failReason ?? ((err as Error).message || String(err));
      if (e.failReason) code = 'engine_failed';
      e.failReason = undefined;
      // The full message stays in this node's log (secrets redacted by the logger); the frame carries a safe line (sanitize.ts).
      e.error = { code, message: message.slice(0, 2000) };
      // A supervisor that never got ready holds no worker; one still starting is stopped first.
      await e.supervisor?.stop();
      this.d.rpc?.release(f.model);
      this.set(e, 'failed', f.id);
      log.warn('load failed', { code, error: e.error.message });
    }
  }

  /** The engine for a GGUF: llama-server when the catalog or this node asks for it, else builtin. */
  private async engineFor(e: Entry, f: HubLoad, modelPath: string): Promise<EngineSpec> {
    e.normaliser = undefined;
    const base = { modelPath, model: f.model, contextLength: f.context_length, threads: this.d.threads, parallel: this.d.parallel };
    const rpc = this.d.rpc;
    if (!rpc && f.engine !== 'llama-server' && this.d.ggufEngine !== 'llama-server') return builtinSpec(base);
    const bin = this.d.llamaServer;
    if (!bin?.ok) throw new LoadFailure('load_failed', bin?.error ?? 'no llama-server binary configured');
    const place = rpc && ((nLayers?: number) => rpc.place(f.model, nLayers));
    const load = await llamaServerLoad({ ...base, binary: bin.path, place }).catch((err: unknown) => {
      throw err instanceof PoolBusy ? new LoadFailure('load_failed', err.message) : err;
    });
    e.normaliser = load.normaliser;
    return load.spec;
  }

  private async fetchWeights(e: Entry, f: HubLoad): Promise<string> {
    const dest = path.join(this.d.modelsDir, modelFileName(f.model));
    await mkdir(this.d.modelsDir, { recursive: true });
    if (await adoptLegacyWeights(this.d.modelsDir, f.model, f.source.sha256)) this.d.log.info('checking weights under their old file name', { model: f.model });
    await recordModelId(dest, f.model);
    e.download = new AbortController();
    let last = 0;
    const bar = terminalProgress();
    this.set(e, 'downloading', f.id, { done_bytes: 0, total_bytes: f.source.bytes ?? 0 });
    // One file or every part of a split GGUF; the engine (builtin or llama-server) loads the first part.
    const got = await ensureModelFiles({
      url: f.source.url,
      dir: this.d.modelsDir,
      stem: modelFileName(f.model).slice(0, -'.gguf'.length),
      sha256: f.source.sha256,
      bytes: f.source.bytes,
      requireDigest: f.source.allow_unverified !== true,
      hf: this.d.hf,
      signal: e.download.signal,
      onProgress: (p) => {
        const now = Date.now();
        if (now - last < PROGRESS_INTERVAL_MS) return;
        last = now;
        bar.update(f.model, p.doneBytes, p.totalBytes, p.bytesPerSec);
        e.progress = { done_bytes: p.doneBytes, total_bytes: p.totalBytes, bytes_per_sec: p.bytesPerSec };
        this.set(e, 'downloading', f.id, { done_bytes: p.doneBytes, total_bytes: p.totalBytes });
      },
    }).finally(() => {
      e.download = undefined;
      bar.finish();
    });
    if (!got.reused) this.d.onInventoryChanged();
    this.set(e, 'downloading', f.id, { done_bytes: got.bytes, total_bytes: got.bytes });
    return got.path;
  }

  /**
   * The upstream an `openai` load fronts: only ones this node's owner
   * configured. A catalog `upstream_url` is honoured when it is the node's
   * `--openai-upstream` or on its `--openai-upstream-allow` list; anything
   * else is refused, so the catalog cannot point the node at a service on
   * its owner's network and relay what it answers.
   */
  private upstream(f: HubLoad): EngineSpec {
    const own = this.d.openaiUpstream;
    if (!f.upstream_url) {
      if (!own) throw new LoadFailure('load_failed', 'engine "openai" needs an upstream: start the node with --openai-upstream (PORTEN_OPENAI_UPSTREAM)');
      return openaiSpec(own);
    }
    const wanted = upstreamBase(f.upstream_url);
    const allowed = [own, ...(this.d.openaiUpstreamAllow ?? [])].filter((u): u is string => !!u).map(upstreamBase);
    if (!allowed.includes(wanted)) {
      throw new LoadFailure(
        'load_failed',
        `the catalog asks this node to front ${wanted}, which its owner did not allow (--openai-upstream / --openai-upstream-allow)`,
      );
    }
    return openaiSpec(wanted);
  }

  /**
   * Fails a ready or loading model from outside its engine (a combined node lost a worker): its
   * in-flight requests end with engine_failed, the engine is stopped, the model is reported failed.
   */
  async fail(model: string, reason: string): Promise<void> {
    const e = this.entries.get(model);
    if (!e || e.phase === 'failed' || e.phase === 'stopped' || e.unloading) return;
    if (e.phase !== 'ready') {
      // Still loading: stopping the engine fails the load, which reports this reason.
      e.failReason = reason;
      this.d.rpc?.release(model);
      await e.supervisor?.stop();
      return;
    }
    this.crashed(e, reason, false);
    await e.supervisor?.stop();
  }

  /** `nameWorker`: probe the model's RPC workers and name the one that vanished (unless the reason already does). */
  private crashed(e: Entry, reason: string, nameWorker = true): void {
    const rpc = this.d.rpc;
    const held = nameWorker ? (rpc?.endpointsOf(e.model) ?? []) : [];
    rpc?.release(e.model);
    if (rpc && held.length > 0) {
      // llama-server aborts when a worker vanishes; name the worker instead of the abort's log tail.
      e.phase = 'failed';
      this.d.onCrash(e.model);
      const error = { code: 'engine_failed' as const, message: redactText(reason).slice(0, 2000) };
      e.error = error;
      void rpc.unreachable(held).then((dead) => {
        if (dead.length > 0) error.message = redactText(`RPC worker ${dead.join(', ')} is unreachable (${reason})`).slice(0, 2000);
        this.d.log.warn('engine crashed', { model: e.model, error: error.message });
        if (e.phase === 'failed' && e.error === error) this.report(e);
      });
      return;
    }
    e.error = { code: 'engine_failed', message: redactText(reason).slice(0, 2000) };
    this.set(e, 'failed');
    this.d.log.warn('engine crashed', { model: e.model, error: reason });
    this.d.onCrash(e.model);
  }

  private set(e: Entry, phase: ModelPhase, id?: string, extra: Partial<ModelState> = {}): void {
    e.phase = phase;
    this.report(e, id, extra);
  }

  private report(e: Entry, id?: string, extra: Partial<ModelState> = {}): void {
    const frame: ModelState = { type: 'model.state', id, model: e.model, phase: e.phase, ...extra };
    if (e.phase === 'ready') frame.vram_mb ??= e.supervisor?.vramMb;
    if (e.phase === 'failed' && e.error) frame.error = e.error;
    this.d.send(frame);
  }
}
