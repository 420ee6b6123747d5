import { Hono } from 'hono';
import type { Env } from '../env';
import { requireBearer } from '../auth';
import { ApiError, toApiError } from '../errors';
import { readJson } from '../api/body';
import { ChatCompletionRequestSchema, chatNeeds } from '../api/chat-schema';
import { hubStub, linkStub } from '../link/stubs';
import type { Dispatch } from '../link/node-link';

type App = { Bindings: Env };

/** The OpenAI-compatible API under /v1. */
export const openaiRoutes = new Hono<App>();

openaiRoutes.use('*', async (c, next) => {
  requireBearer(c.req.raw, c.env.PORTEN_API_KEY, 'an API key');
  await next();
});

openaiRoutes.get('/models', async (c) => {
  const data = await hubStub(c.env).listModels();
  return c.json({ object: 'list', data });
});

openaiRoutes.get('/models/:id{.+}', async (c) => {
  const model = await hubStub(c.env).getModel(c.req.param('id'));
  if (!model) throw new ApiError('model_not_found', `The model '${c.req.param('id')}' does not exist.`, { param: 'model' });
  return c.json(model);
});

openaiRoutes.post('/chat/completions', async (c) => {
  const body = await readJson(c.req.raw, ChatCompletionRequestSchema);
  const budgetMs = warmupBudgetMs(c.req.header('x-porten-warmup-budget'), c.env.PORTEN_WARMUP_BUDGET_S);
  const hub = hubStub(c.env);
  const lease = await hub.acquire({ model: body.model, needs: chatNeeds(body), budgetMs });
  if (!lease.ok) throw toApiError(lease);
  const dispatch: Dispatch = {
    id: `chatcmpl-${crypto.randomUUID().replaceAll('-', '')}`,
    model: lease.model,
    path: '/v1/chat/completions',
    body,
    stream: body.stream === true,
  };
  let res: Response;
  try {
    res = await linkStub(c.env, lease.nodeId).fetch('https://link/dispatch', { method: 'POST', body: JSON.stringify(dispatch) });
  } catch (err) {
    c.executionCtx.waitUntil(hub.release(lease.leaseId));
    throw err;
  }
  return releaseWhenDone(res, () => hub.release(lease.leaseId), c.executionCtx);
});

/** The warm-up budget from the request header (seconds), else the edge default. */
export function warmupBudgetMs(header: string | undefined, fallbackS: string | undefined): number {
  const fallback = Number(fallbackS ?? 300);
  if (header === undefined) return (Number.isFinite(fallback) && fallback >= 0 ? fallback : 300) * 1000;
  const s = Number(header);
  if (!Number.isFinite(s) || s < 0 || s > 3600) {
    throw new ApiError('invalid_request', 'X-Porten-Warmup-Budget must be a number of seconds between 0 and 3600.', { param: 'x-porten-warmup-budget' });
  }
  return s * 1000;
}

/** Passes the body through and releases the lease once it has been fully sent, failed or been cancelled. */
function releaseWhenDone(res: Response, release: () => Promise<void>, ctx: ExecutionContext): Response {
  if (!res.body) {
    ctx.waitUntil(release());
    return res;
  }
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  ctx.waitUntil(res.body.pipeTo(writable).catch(() => undefined).finally(release));
  return new Response(readable, res);
}
