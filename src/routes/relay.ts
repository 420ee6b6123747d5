import type { Env } from '../env';
import { errorBody, toApiError } from '../errors';
import type { AcquireResult, Lease } from '../hub/hub';
import type { Dispatch } from '../link/node-link';
import { hubStub, linkStub } from '../link/stubs';

type DispatchInput = Omit<Dispatch, 'model' | 'lease'>;

/** How long a stream waits for a lease before it commits to SSE headers and keep-alive comments. */
const COMMIT_AFTER_MS = 250;
/** Keep-alive cadence while warming; well under common proxy idle timeouts. */
const WARMING_COMMENT_MS = 4000;

const encoder = new TextEncoder();

export interface RelayRequest {
  model: string;
  needs: string[];
  budgetMs: number;
  /** The caller's managed key (hashed); absent for the bootstrap key. */
  keyHash?: string;
}

/**
 * Sends a validated request to a node serving its model: acquires a lease
 * from the Hub (which may load the model) and relays through the node's
 * NodeLink, which releases the lease with the node's usage when the request
 * ends. A stream whose model is still warming gets its SSE headers at once and
 * a comment line with the phase and percent every few seconds, so clients and
 * proxies see bytes.
 */
export async function relay(env: Env, ctx: ExecutionContext, input: DispatchInput, req: RelayRequest): Promise<Response> {
  const { model } = req;
  const hub = hubStub(env);
  const t0 = Date.now();
  const acquiring = hub.acquire(req);
  if (!input.stream) return forward(env, ctx, input, await settle(acquiring), t0);

  let commitTimer: ReturnType<typeof setTimeout> | undefined;
  const commit = new Promise<null>((resolve) => (commitTimer = setTimeout(() => resolve(null), COMMIT_AFTER_MS)));
  const early = await Promise.race([acquiring, commit]);
  clearTimeout(commitTimer);
  if (early) return forward(env, ctx, input, early, t0);

  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const work = (async () => {
    const timer = setInterval(() => void comment(env, writer, model), WARMING_COMMENT_MS);
    await comment(env, writer, model);
    const lease = await acquiring.finally(() => clearInterval(timer));
    if (!lease.ok) {
      await writer.write(encoder.encode(`data: ${JSON.stringify(errorBody(lease.code, lease.message, lease.param ?? null))}\n\n`));
      await writer.close();
      return;
    }
    const res = await forward(env, ctx, input, lease);
    if (!res.ok || !res.body) {
      const text = await res.text();
      await writer.write(encoder.encode(`data: ${text}\n\n`));
      await writer.close();
      return;
    }
    writer.releaseLock();
    await res.body.pipeTo(writable);
  })().catch(async (err) => {
    console.error('warming stream failed:', err);
    try {
      await writer.abort(err);
    } catch {
      // The client is gone already.
    }
  });
  ctx.waitUntil(work);
  return new Response(readable, { status: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' } });
}

async function settle(acquiring: Promise<AcquireResult>): Promise<Lease> {
  const lease = await acquiring;
  if (!lease.ok) throw toApiError(lease);
  return lease;
}

async function forward(env: Env, ctx: ExecutionContext, input: DispatchInput, result: AcquireResult, t0?: number): Promise<Response> {
  if (!result.ok) throw toApiError(result);
  const t1 = Date.now();
  let res: Response;
  try {
    const dispatch: Dispatch = { ...input, model: result.model, lease: result.leaseId };
    res = await linkStub(env, result.nodeId).fetch('https://link/dispatch', { method: 'POST', body: JSON.stringify(dispatch) });
  } catch (err) {
    // Only a dispatch that never reached the NodeLink is released here: the link releases every request it takes.
    ctx.waitUntil(hubStub(env).release(result.leaseId, undefined, 'error'));
    throw err;
  }
  // Same body stream, no copy: only the headers are new (and mutable).
  const out = new Response(res.body, res);
  // Where the time before the first byte went: the Hub's decision (incl. warm-up) and the node's answer.
  if (t0 !== undefined) out.headers.set('server-timing', `hub;dur=${t1 - t0}, node;dur=${Date.now() - t1}`);
  return out;
}

async function comment(env: Env, writer: WritableStreamDefaultWriter<Uint8Array>, model: string): Promise<void> {
  try {
    const view = await hubStub(env).warming(model);
    const line = view ? `: warming ${view.phase} ${Math.round(view.pct)}% ${view.done_mb}/${view.total_mb} MB${view.eta_s !== null ? ` eta ${Math.round(view.eta_s)}s` : ''}` : ': warming';
    await writer.write(encoder.encode(`${line}\n\n`));
  } catch {
    // A failed keep-alive is not worth failing the request over; the client may also be gone.
  }
}
