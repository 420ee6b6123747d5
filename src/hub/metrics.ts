import { Registry } from '../metrics/registry';
import type { LedgerRow } from './ingest-types';
import type { LiveCounters } from './live';
import type { HubStore } from './store';

const TTFB_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const RATE_BUCKETS = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];
/** Counters are saved at most this often (a Hub restart loses at most this much of their increments). */
const SAVE_MS = 5000;
const STATE = 'registry';
/**
 * The stream-buffer maxima, saved apart from the counters and at once: a new maximum is rare (the value only
 * grows), and a Hub that is evicted while idle (workerd does that after seconds, Cloudflare after a minute or
 * two) would otherwise forget the one figure that says how much a slow client cost the edge.
 */
const BUFFERED = 'stream-buffered-max';

/**
 * The fleet's metrics, kept by the Hub: request outcomes and latencies from the
 * ledger rows NodeLinks report (so they cost the hot path nothing), model
 * lifecycle from node reports, and gauges computed at scrape time from the
 * Hub's live state. Served at `/metrics` in Prometheus text format.
 */
export class HubMetrics {
  private readonly r = new Registry();
  /** The most bytes a node link held for one client, by node (see BUFFERED). */
  private readonly buffered: Map<string, number>;
  private saveTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly store: HubStore) {
    const r = this.r;
    r.counter('porten_requests_total', 'Requests that ended, by model, node and outcome (ok, error, cancelled).');
    r.gauge('porten_requests_in_flight', 'Requests in flight, by model and node (as last reported by each node link).');
    r.gauge('porten_queue_depth', 'Requests waiting at the Hub for a replica to be ready or free, by model.');
    r.histogram('porten_time_to_first_byte_seconds', 'Edge-measured time from dispatch to the first byte the client could read.', TTFB_BUCKETS);
    r.histogram('porten_engine_ttft_seconds', 'Agent-measured time from sending a request to the engine to its first body byte.', TTFB_BUCKETS);
    r.histogram('porten_request_duration_seconds', 'Edge-measured time from dispatch to the end of the response.', DURATION_BUCKETS);
    r.histogram('porten_generation_tokens_per_second', 'Completion tokens per second of generation, measured at the engine by the agent.', RATE_BUCKETS);
    r.counter('porten_tokens_total', 'Tokens of ended requests, by model, node and kind (prompt, completion).');
    r.counter('porten_model_loads_total', 'Model loads that finished, by model, node and outcome (ready, failed).');
    r.counter('porten_model_evictions_total', 'Models unloaded, by model, node and cause (the planner rule, or node).');
    r.counter('porten_dispatch_refusals_total', 'Dispatches a node link turned away before the first byte (then retried elsewhere), by node and reason.');
    r.counter('porten_unloads_refused_total', 'Planned unloads a node link refused because the model had requests in flight.');
    r.counter('porten_warming_responses_total', 'Requests answered 503 model_warming, by model.');
    r.counter('porten_unavailable_responses_total', 'Requests answered 503 no_available_node by the Hub, by model.');
    r.counter('porten_download_bytes_total', 'Weight bytes downloaded by nodes, by model and node.');
    r.gauge('porten_node_up', 'Whether a node is connected (1) or not (0).');
    r.gauge('porten_node_suspect', 'Whether a connected node is suspect (1: missed a deadline or went silent; no new work).');
    r.gauge('porten_node_heartbeat_age_seconds', 'Seconds since the Hub last heard that a connected node was alive.');
    r.counter('porten_hub_calls_total', 'Calls into the Hub, by method.');
    r.gauge(
      'porten_stream_buffered_bytes_max',
      'The most bytes a node link held for one slow client, by node (highest ever reported; kept across Hub restarts).',
    );
    r.gauge('porten_ledger_open_rows', 'Usage-ledger rows of requests not yet ended (in flight, or not yet reported).');
    const saved = store.metricState(STATE);
    if (saved) {
      try {
        r.load(JSON.parse(saved));
      } catch {
        // A corrupt snapshot only costs the counters' history.
      }
    }
    this.buffered = loadMaxima(store.metricState(BUFFERED));
  }

  call(method: string): void {
    this.r.inc('porten_hub_calls_total', { method });
    this.dirty();
  }

  /** A ledger row reached its end (once per request). */
  ended(row: LedgerRow): void {
    const l = { model: row.model, node: row.node ?? '' };
    this.r.inc('porten_requests_total', { ...l, outcome: row.outcome ?? 'error' });
    if (row.prompt) this.r.inc('porten_tokens_total', { ...l, kind: 'prompt' }, row.prompt);
    if (row.completion) this.r.inc('porten_tokens_total', { ...l, kind: 'completion' }, row.completion);
    if (row.node) {
      if (row.first_byte_ms !== null) this.r.observe('porten_time_to_first_byte_seconds', l, row.first_byte_ms / 1000);
      if (row.total_ms !== null) this.r.observe('porten_request_duration_seconds', l, row.total_ms / 1000);
      if (row.engine_ttft_ms !== null) this.r.observe('porten_engine_ttft_seconds', l, row.engine_ttft_ms / 1000);
      const genMs = row.engine_total_ms !== null && row.engine_ttft_ms !== null ? row.engine_total_ms - row.engine_ttft_ms : 0;
      if (row.completion > 1 && genMs > 0) this.r.observe('porten_generation_tokens_per_second', l, (row.completion - 1) / (genMs / 1000));
    }
    this.dirty();
  }

  /** A node link's largest buffer for one client since its last report; a new maximum is saved at once. */
  bufferedBytes(node: string, bytes: number): void {
    if (!(bytes > (this.buffered.get(node) ?? 0))) return;
    this.buffered.set(node, bytes);
    this.store.saveMetricState(BUFFERED, JSON.stringify(Object.fromEntries(this.buffered)));
  }

  refusals(node: string, byReason: Record<string, number>): void {
    for (const [reason, n] of Object.entries(byReason)) if (n > 0) this.r.inc('porten_dispatch_refusals_total', { node, reason }, n);
    this.dirty();
  }

  loaded(model: string, node: string, outcome: 'ready' | 'failed'): void {
    this.r.inc('porten_model_loads_total', { model, node, outcome });
    this.dirty();
  }

  evicted(model: string, node: string, cause: string): void {
    this.r.inc('porten_model_evictions_total', { model, node, cause });
    this.dirty();
  }

  unloadRefused(model: string, node: string): void {
    this.r.inc('porten_unloads_refused_total', { model, node });
    this.dirty();
  }

  refused(model: string, code: string): void {
    if (code === 'model_warming') this.r.inc('porten_warming_responses_total', { model });
    else if (code === 'no_available_node') this.r.inc('porten_unavailable_responses_total', { model });
    else return;
    this.dirty();
  }

  downloaded(model: string, node: string, bytes: number): void {
    if (bytes <= 0) return;
    this.r.inc('porten_download_bytes_total', { model, node }, bytes);
    this.dirty();
  }

  /** The exposition, with gauges taken from the Hub's state now. */
  render(live: LiveCounters, queued: Map<string, number>, now: number, openRows: number): string {
    const r = this.r;
    r.set('porten_ledger_open_rows', {}, openRows);
    for (const [node, bytes] of this.buffered) r.set('porten_stream_buffered_bytes_max', { node }, bytes);
    for (const g of ['porten_requests_in_flight', 'porten_queue_depth', 'porten_node_up', 'porten_node_suspect', 'porten_node_heartbeat_age_seconds'])
      r.reset(g);
    for (const [key, n] of live.inflight) {
      const at = key.indexOf('|');
      r.set('porten_requests_in_flight', { node: key.slice(0, at), model: key.slice(at + 1) }, n);
    }
    for (const [model, n] of queued) r.set('porten_queue_depth', { model }, n);
    for (const n of this.store.nodes()) {
      r.set('porten_node_up', { node: n.id }, n.online ? 1 : 0);
      if (!n.online) continue;
      r.set('porten_node_suspect', { node: n.id }, live.suspect.has(n.id) ? 1 : 0);
      if (n.last_seen !== null) r.set('porten_node_heartbeat_age_seconds', { node: n.id }, Math.max(0, (now - n.last_seen) / 1000));
    }
    return r.render();
  }

  private dirty(): void {
    this.saveTimer ??= setTimeout(() => {
      this.saveTimer = undefined;
      this.store.saveMetricState(STATE, JSON.stringify(this.r.toJSON()));
    }, SAVE_MS);
  }
}

/** Saved maxima (`{node: bytes}`); anything malformed is dropped. */
function loadMaxima(saved: string | null): Map<string, number> {
  const out = new Map<string, number>();
  if (!saved) return out;
  try {
    const o = JSON.parse(saved) as unknown;
    if (typeof o !== 'object' || o === null) return out;
    for (const [node, v] of Object.entries(o)) if (typeof v === 'number' && Number.isFinite(v) && v > 0) out.set(node, v);
  } catch {
    // A corrupt row only costs the maxima.
  }
  return out;
}
