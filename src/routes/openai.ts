import { Hono, type Context } from 'hono';
import type { Env } from '../env';
import { apiKeyAuth, type AuthVariables } from '../auth';
import { ApiError } from '../errors';
import { readJson } from '../api/body';
import { ChatCompletionRequestSchema, chatNeeds } from '../api/chat-schema';
import { CompletionRequestSchema } from '../api/completion-schema';
import { EmbeddingRequestSchema } from '../api/embedding-schema';
import { hubStub } from '../link/stubs';
import { relay } from './relay';

type App = { Bindings: Env; Variables: AuthVariables };

/** The OpenAI-compatible API under /v1. */
export const openaiRoutes = new Hono<App>();

openaiRoutes.use('*', apiKeyAuth);

// A key with a model allow-list sees only those models, as if the others did not exist.
openaiRoutes.get('/models', async (c) => {
  const allowed = c.get('allowedModels');
  const data = (await hubStub(c.env).listModels()).filter((m) => !allowed || allowed.includes(m.id));
  return c.json({ object: 'list', data });
});

openaiRoutes.get('/models/:id{.+}', async (c) => {
  const allowed = c.get('allowedModels');
  const id = c.req.param('id');
  const model = !allowed || allowed.includes(id) ? await hubStub(c.env).getModel(id) : null;
  if (!model) throw new ApiError('model_not_found', `The model '${id}' does not exist.`, { param: 'model' });
  return c.json(model);
});

openaiRoutes.post('/chat/completions', async (c) => {
  const body = await readJson(c.req.raw, ChatCompletionRequestSchema);
  const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? undefined;
  return relay(c.env, c.executionCtx, {
    ...common(c, 'chatcmpl'),
    path: '/v1/chat/completions',
    body,
    stream: body.stream === true,
    model: body.model,
    needs: chatNeeds(body),
    usageBounds: (ctx) => ({ maxPrompt: ctx, maxCompletion: Math.min(ctx, maxTokens ?? ctx) }),
  });
});

openaiRoutes.post('/completions', async (c) => {
  const body = await readJson(c.req.raw, CompletionRequestSchema);
  // OpenAI's default for legacy completions is 16 tokens.
  const maxTokens = body.max_tokens ?? 16;
  return relay(c.env, c.executionCtx, {
    ...common(c, 'cmpl'),
    path: '/v1/completions',
    body,
    stream: body.stream === true,
    model: body.model,
    needs: ['chat'],
    usageBounds: (ctx) => ({ maxPrompt: ctx, maxCompletion: Math.min(ctx, maxTokens) }),
  });
});

openaiRoutes.post('/embeddings', async (c) => {
  const body = await readJson(c.req.raw, EmbeddingRequestSchema);
  const inputs = Array.isArray(body.input) && (body.input.length === 0 || typeof body.input[0] !== 'number') ? body.input.length : 1;
  return relay(c.env, c.executionCtx, {
    ...common(c, 'embd'),
    path: '/v1/embeddings',
    body,
    stream: false,
    model: body.model,
    needs: ['embeddings'],
    // Each input is embedded whole, within the context: that bounds what the node may bill.
    usageBounds: (ctx) => ({ maxPrompt: ctx * Math.max(1, inputs), maxCompletion: 0 }),
  });
});

/** What every inference route passes the relay: the response id, the warm-up budget, the key, the request id. */
function common(c: Context<App>, prefix: string) {
  return {
    id: `${prefix}-${crypto.randomUUID().replaceAll('-', '')}`,
    budgetMs: warmupBudgetMs(c.req.header('x-porten-warmup-budget'), c.env.PORTEN_WARMUP_BUDGET_S),
    keyHash: c.get('keyHash'),
    requestId: requestIdOf(c.req.header('x-request-id')),
  };
}

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's x-request-id when it is sane (letters, digits, `._:-`, at most 128), else a new one. */
export function requestIdOf(header: string | undefined): string {
  return header && REQUEST_ID_RE.test(header) ? header : `req_${crypto.randomUUID().replaceAll('-', '')}`;
}

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
