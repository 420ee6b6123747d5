import { edgeCache, isSuspect, markSuspect, type EdgeCache } from '../cache/edge-cache';
import { checkCachedLimits } from '../cache/limits';
import { pickLeastLoaded } from '../cache/pick';
import type { Env } from '../env';
import { ApiError, errorBody, toApiError, type Failure } from '../errors';
import type { AcquireResult } from '../hub/hub';
import { BOOTSTRAP_KEY_ID } from '../hub/tenancy';
import { dispatchHeaders, type DispatchMeta } from '../link/dispatch-meta';
import { refusal, refusedBy, type RefusalReason } from '../link/refusal';
import { hubStub, linkStub } from '../link/stubs';
import { logEvent } from '../log';
import { onBodyEnd, once } from './body-end';
import { defaultMinTrust, effectiveScope, excludedBy, type KeyScope } from '../tenancy/eligibility';
import type { Trust } from '../tenancy/trust';

/** How long a cold stream waits for a lease before it commits to SSE headers and keep-alive comments. */
const COMMIT_AFTER_MS = 250;
/** Keep-alive cadence while warming; well under common proxy idle timeouts. */
const WARMING_COMMENT_MS = 4000;
/** Nodes tried straight from the route cache before the Hub is asked. */
const WARM_TRIES = 2;
/** Dispatches after Hub leases before a refusal becomes the client's answer. */
const COLD_TRIES = 3;

const encoder = new TextEncoder();

export interface RelayRequest {
  /** The response id (`chatcmpl-…`): the request's identity at the nodes and in the usage ledger. */
  id: string;
  path: DispatchMeta['path'];
  body: Record<string, unknown>;
  stream: boolean;
  model: string;
  needs: string[];
  budgetMs: number;
  /** The caller's managed key (hashed); absent for the bootstrap key. */
  keyHash?: string;
  /** The client's x-request-id (or one made for it): logs along the way and the response carry it. */
  requestId: string;
  /** What the request allows the node to bill, given the model's context length. */
  usageBounds: (contextLength: number) => { maxPrompt: number; maxCompletion: number };
}

interface Served {
  node: string;
  trust: string;
  region: string;
}

/**
 * Sends a validated request to a node serving its model. Warm path: the
 * isolate's caches know the key and where the model is ready, and the request
 * goes straight to that node's NodeLink — no Hub call. A NodeLink that cannot
 * take it (the model is gone, the node is full, silent or lost) says so before
 * any byte reached the client, and the request is tried on another replica,
 * then through the Hub (the cold path: catalog, demand, planner, loading,
 * waiting within the warm-up budget — with SSE keep-alive comments for
 * streams — else `503 model_warming`).
 */
export async function relay(env: Env, ctx: ExecutionContext, req: RelayRequest): Promise<Response> {
  const c = edgeCache(env);
  const waitUntil = (p: Promise<unknown>) => ctx.waitUntil(p);
  const t0 = Date.now();
  const admitted = await admit(c, req, waitUntil, t0, defaultMinTrust(env.PORTEN_DEFAULT_MIN_TRUST).trust);
  const route = await c.routes.get(req.model, waitUntil);
  if (!route.model?.enabled) throw new ApiError('model_not_found', `The model '${req.model}' does not exist or is not offered.`, { param: 'model' });
  const missing = req.needs.filter((n) => !route.model!.capabilities.includes(n));
  if (missing.length) {
    throw new ApiError('capability_not_supported', `The model '${req.model}' does not support ${missing.join(', ')}.`, { param: 'model' });
  }
  if (req.keyHash) c.keys.started(admitted.keyId, t0);
  const job: Job = {
    env,
    ctx,
    c,
    req,
    keyId: admitted.keyId,
    bodyJson: JSON.stringify(req.body),
    avoid: new Set(),
    busy: new Set(),
    routed: new Set(route.replicas.map((r) => r.node)),
    t0,
    untilEnd: admitted.untilEnd,
    ...req.usageBounds(route.model.context_length),
  };
  const done = once(() => req.keyHash && c.keys.ended(admitted.keyId));

  const candidates = route.replicas.filter(
    (r) => excludedBy(admitted.scope, { id: r.node, region: r.region, trust: r.trust, owner: r.owner, revoked: false }) === null,
  );
  const tried = new Set<string>();
  for (let i = 0; i < WARM_TRIES; i++) {
    const now = Date.now();
    const open = candidates.filter((r) => !tried.has(r.node) && !isSuspect(c, r.node, now) && r.load < r.max);
    const pick = pickLeastLoaded(open.map((r) => ({ r, load: r.load + (c.sent.get(`${r.node}|${req.model}`) ?? 0) })));
    if (!pick) break;
    tried.add(pick.r.node);
    const res = await dispatch(job, pick.r.node, true);
    const reason = refusedBy(res);
    if (!reason) return finish(job, res, pick.r, undefined, done);
    noteRefusal(job, pick.r.node, reason);
  }
  return cold(job, done);
}

interface Job {
  env: Env;
  ctx: ExecutionContext;
  c: EdgeCache;
  req: RelayRequest;
  keyId: string;
  bodyJson: string;
  maxPrompt: number;
  maxCompletion: number;
  avoid: Set<string>;
  busy: Set<string>;
  /** The nodes the cached route listed for the model when the request came in. */
  routed: ReadonlySet<string>;
  t0: number;
  /** The key counts requests in flight: its count drops when the body ends, not when the headers go out. */
  untilEnd: boolean;
}

/** The key's standing from the cache: 401, 403 or 429 here, without the Hub, within the cache's age bound. */
async function admit(
  c: EdgeCache,
  req: RelayRequest,
  waitUntil: (p: Promise<unknown>) => void,
  now: number,
  /** The fleet's minimum trust for keys that set none: the warm path routes by the same scope the Hub admits with. */
  fallbackTrust: Trust,
): Promise<{ keyId: string; scope: KeyScope; untilEnd: boolean }> {
  if (!req.keyHash) return { keyId: BOOTSTRAP_KEY_ID, scope: effectiveScope(null, fallbackTrust), untilEnd: false };
  const info = await c.keys.resolve(req.keyHash, waitUntil);
  if (!info) throw new ApiError('invalid_api_key', 'Incorrect API key provided.');
  if (!info.ok) throw toApiError(info);
  if (info.models && !info.models.includes(req.model)) {
    throw new ApiError('model_not_allowed', `This API key may not use the model '${req.model}'.`, { param: 'model' });
  }
  const verdict = checkCachedLimits(info, c.keys.usage(info.id, now), now);
  if (!verdict.ok) throw new ApiError('rate_limited', verdict.message, { retryAfterS: verdict.retryAfterMs / 1000 });
  // A concurrency limit counts a request until its last byte, so its end is watched (see finish).
  return { keyId: info.id, scope: effectiveScope(info.scope, fallbackTrust), untilEnd: info.limits.max_inflight !== null };
}

/** Why a node turned the request away decides what the next try avoids. */
function noteRefusal(job: Job, node: string, reason: RefusalReason): void {
  if (reason === 'busy') {
    job.busy.add(node);
    return;
  }
  // A node that no longer serves the model is no reason to avoid it: the Hub knows what it serves (and may load it there again).
  if (reason === 'model_gone') {
    job.c.routes.invalidate(job.req.model);
    return;
  }
  job.avoid.add(node);
  markSuspect(job.c, node, Date.now());
}

/** One try on one node. Never throws: a NodeLink that cannot be reached is a refusal (nothing reached the client). */
async function dispatch(job: Job, node: string, refusable: boolean, keyId = job.keyId, urgent = false): Promise<Response> {
  const { req } = job;
  const meta: DispatchMeta = {
    id: req.id,
    model: req.model,
    path: req.path,
    stream: req.stream,
    key: keyId,
    requestId: req.requestId,
    maxPrompt: job.maxPrompt,
    maxCompletion: job.maxCompletion,
    refusable,
    urgent,
  };
  const sentKey = `${node}|${req.model}`;
  job.c.sent.set(sentKey, (job.c.sent.get(sentKey) ?? 0) + 1);
  try {
    return await linkStub(job.env, node).fetch('https://link/dispatch', { method: 'POST', headers: dispatchHeaders(meta), body: job.bodyJson });
  } catch (err) {
    logEvent('warn', 'dispatch to a node link failed', { id: req.id, request_id: req.requestId, node, error: String(err) });
    if (refusable) return refusal('node_failed', 'The node link could not be reached.');
    // The last try: the client gets the error, and the ledger the row (ingested by id, so a row the link also wrote counts once).
    const now = Date.now();
    job.ctx.waitUntil(
      hubStub(job.env)
        .record([
          {
            rid: req.id,
            key: keyId,
            model: req.model,
            node,
            started: job.t0,
            ended: now,
            outcome: 'error',
            prompt: 0,
            completion: 0,
            first_byte_ms: null,
            total_ms: now - job.t0,
            engine_ttft_ms: null,
            engine_total_ms: null,
          },
        ])
        .catch(() => undefined),
    );
    return Response.json(errorBody('upstream_error', 'The node serving this model could not be reached.'), { status: 502 });
  }
}

/** Response headers the edge adds: who served it (trust class, region), the request id, where the time went. */
function finish(job: Job, res: Response, served: Served | null, hubMs: number | undefined, done: () => void): Response {
  const watch = job.untilEnd && res.body !== null;
  const out = new Response(watch ? onBodyEnd(res.body!, done) : res.body, res);
  out.headers.set('x-request-id', job.req.requestId);
  if (served) {
    out.headers.set('x-porten-trust', served.trust);
    out.headers.set('x-porten-region', served.region);
  }
  const nodeMs = Date.now() - job.t0 - (hubMs ?? 0);
  out.headers.set('server-timing', hubMs === undefined ? `node;dur=${nodeMs}` : `hub;dur=${hubMs}, node;dur=${nodeMs}`);
  if (!watch) done();
  return out;
}

/** Through the Hub: lease (maybe after a load), dispatch; a refusal asks the Hub again, avoiding that node. */
async function cold(job: Job, done: () => void): Promise<Response> {
  const { req } = job;
  const hub = hubStub(job.env);
  const deadline = job.t0 + req.budgetMs;
  // A stream learns its place in the model's queue from `: queued P/N max M` comments; the ticket names it to the Hub.
  const ticket = req.stream ? crypto.randomUUID() : undefined;
  let hubMs = 0;
  const attempt = async (onLease?: () => void): Promise<{ res: Response; served: Served } | Failure> => {
    for (let n = 0; ; n++) {
      const h0 = Date.now();
      const lease: AcquireResult = await hub.acquire({
        model: req.model,
        needs: req.needs,
        budgetMs: Math.max(0, deadline - Date.now()),
        keyHash: req.keyHash,
        rid: req.id,
        avoid: [...job.avoid],
        busy: [...job.busy],
        ticket,
      });
      hubMs += Date.now() - h0;
      if (!lease.ok) return lease;
      onLease?.();
      job.busy.clear();
      const last = n + 1 >= COLD_TRIES || deadline - Date.now() < 1000;
      const res = await dispatch({ ...job, maxPrompt: Math.min(job.maxPrompt, lease.contextLength) }, lease.nodeId, !last, lease.keyId, lease.queued);
      const reason = refusedBy(res);
      if (!reason) {
        // The Hub served it on a node the cached route did not list (the model just loaded there): the cached view is
        // stale, so the next request fetches it again and goes straight to the node, rather than through the Hub
        // until the cache ages out.
        if (!job.routed.has(lease.nodeId)) job.c.routes.invalidate(req.model);
        return { res, served: { node: lease.nodeId, trust: lease.trust, region: lease.region } };
      }
      noteRefusal(job, lease.nodeId, reason);
    }
  };

  if (!req.stream) {
    const r = await attempt();
    if (!('res' in r)) {
      done();
      throw toApiError(r);
    }
    return finish(job, r.res, r.served, hubMs, done);
  }

  // A stream waits briefly for its lease; past that it commits to SSE and keeps the client informed while the model warms.
  let commitTimer: ReturnType<typeof setTimeout> | undefined;
  let leased = false;
  const running = attempt(() => (leased = true));
  const commit = new Promise<null>((resolve) => (commitTimer = setTimeout(() => resolve(null), COMMIT_AFTER_MS)));
  const early = await Promise.race([running, commit]);
  clearTimeout(commitTimer ?? null);
  if (early) {
    if (!('res' in early)) {
      done();
      throw toApiError(early);
    }
    return finish(job, early.res, early.served, hubMs, done);
  }
  // Native pass-through: backpressure from a slow client reaches the NodeLink (and its credits) as on the warm path.
  const { readable, writable } = new IdentityTransformStream();
  const writer = writable.getWriter();
  const work = (async () => {
    const timer = setInterval(() => void (leased || comment(job.env, writer, req.model, ticket)), WARMING_COMMENT_MS);
    await comment(job.env, writer, req.model, ticket);
    const r = await running.finally(() => clearInterval(timer));
    if (!job.untilEnd || !('res' in r)) done();
    if (!('res' in r)) {
      await writer.write(encoder.encode(`data: ${JSON.stringify(errorBody(r.code, r.message, r.param ?? null))}\n\n`));
      await writer.close();
      return;
    }
    if (!r.res.ok || !r.res.body) {
      const text = await r.res.text();
      await writer.write(encoder.encode(`data: ${text}\n\n`));
      await writer.close();
      return;
    }
    writer.releaseLock();
    await r.res.body.pipeTo(writable);
  })()
    .finally(done)
    .catch(async (err) => {
      logEvent('error', 'warming stream failed', { id: req.id, request_id: req.requestId, error: String(err) });
      try {
        await writer.abort(err);
      } catch {
        // The client is gone already.
      }
    });
  job.ctx.waitUntil(work);
  return new Response(readable, {
    status: 200,
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      'x-request-id': req.requestId,
    },
  });
}

async function comment(env: Env, writer: WritableStreamDefaultWriter<Uint8Array>, model: string, ticket?: string): Promise<void> {
  try {
    const view = await hubStub(env).warming(model, ticket);
    const line = view
      ? `: warming ${view.phase} ${Math.round(view.pct)}% ${view.done_mb}/${view.total_mb} MB${view.eta_s !== null ? ` eta ${Math.round(view.eta_s)}s` : ''}`
      : ': warming';
    const queued = view?.position !== undefined ? `: queued ${view.position}/${view.queued} max ${view.queue_max}\n\n` : '';
    await writer.write(encoder.encode(`${line}\n\n${queued}`));
  } catch {
    // A failed keep-alive is not worth failing the request over; the client may also be gone.
  }
}
