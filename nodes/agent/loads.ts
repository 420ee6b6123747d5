import path from 'node:path';
import type { HubLoad, LoadedModel, ModelPhase, ModelState, NodeErrorCode } from '../../src/protocol';
import { DownloadError, ensureFile } from '../download/index';
import { modelFileName } from '../engines/args';
import { builtinSpec } from '../engines/builtin';
import { openaiSpec } from '../engines/openai';
import { Supervisor, type EngineSpec } from '../engines/supervisor';
import type { Logger } from './log';
import { terminalProgress } from './progress-bar';

export const PROGRESS_INTERVAL_MS = 250;

export interface LoadsDeps {
  modelsDir: string;
  threads: number;
  parallel: number;
  openaiUpstream?: string;
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
  loading?: Promise<void>;
  download?: AbortController;
  unloading?: boolean;
  error?: { code: NodeErrorCode; message: string };
}

class LoadFailure extends Error {
  constructor(readonly code: NodeErrorCode, message: string) {
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
    this.entries.delete(f.model);
    e.phase = 'stopped';
    this.d.send({ type: 'model.state', id: f.id, model: f.model, phase: 'stopped' });
    this.d.log.info('model unloaded', { model: f.model });
  }

  models(): string[] {
    return [...this.entries.keys()];
  }

  /** Stops every engine (agent shutdown). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.entries.values()].map(async (e) => {
      e.unloading = true;
      e.download?.abort();
      await e.supervisor?.stop();
    }));
  }

  private async run(e: Entry, f: HubLoad): Promise<void> {
    const log = this.d.log.child(f.model);
    try {
      const spec = f.engine === 'builtin' ? await this.fetchWeights(e, f) : this.upstream(f);
      if (e.unloading) return;
      e.supervisor ??= new Supervisor(spec, {
        startTimeoutMs: this.d.startTimeoutMs,
        onCrash: (reason) => this.crashed(e, reason),
      });
      this.set(e, 'loading', f.id);
      await Promise.all(this.stops);
      if (e.unloading) return;
      const { vramMb } = await e.supervisor.ensureReady();
      if (e.unloading) return;
      this.set(e, 'ready', f.id, { vram_mb: vramMb });
      log.info('model ready', { engine: f.engine, vram_mb: vramMb, pid: e.supervisor.pid });
    } catch (err) {
      if (e.unloading) return;
      const code: NodeErrorCode = err instanceof DownloadError || err instanceof LoadFailure ? err.code : 'load_failed';
      e.error = { code, message: ((err as Error).message || String(err)).slice(0, 2000) };
      this.set(e, 'failed', f.id);
      log.warn('load failed', { code, error: e.error.message });
    }
  }

  private async fetchWeights(e: Entry, f: HubLoad): Promise<EngineSpec> {
    const dest = path.join(this.d.modelsDir, modelFileName(f.model));
    e.download = new AbortController();
    let last = 0;
    const bar = terminalProgress();
    this.set(e, 'downloading', f.id, { done_bytes: 0, total_bytes: f.source.bytes ?? 0 });
    const got = await ensureFile({
      url: f.source.url, dest, sha256: f.source.sha256, bytes: f.source.bytes, signal: e.download.signal,
      onProgress: (p) => {
        const now = Date.now();
        if (now - last < PROGRESS_INTERVAL_MS) return;
        last = now;
        bar.update(f.model, p.doneBytes, p.totalBytes, p.bytesPerSec);
        this.set(e, 'downloading', f.id, { done_bytes: p.doneBytes, total_bytes: p.totalBytes });
      },
    }).finally(() => {
      e.download = undefined;
      bar.finish();
    });
    if (!got.reused) this.d.onInventoryChanged();
    this.set(e, 'downloading', f.id, { done_bytes: got.bytes, total_bytes: got.bytes });
    return builtinSpec({ modelPath: got.path, model: f.model, contextLength: f.context_length, threads: this.d.threads, parallel: this.d.parallel });
  }

  private upstream(f: HubLoad): EngineSpec {
    const url = f.upstream_url ?? this.d.openaiUpstream;
    if (!url) throw new LoadFailure('load_failed', 'engine "openai" needs upstream_url (or PORTEN_OPENAI_UPSTREAM on the node)');
    return openaiSpec(url);
  }

  private crashed(e: Entry, reason: string): void {
    e.error = { code: 'engine_failed', message: reason.slice(0, 2000) };
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
