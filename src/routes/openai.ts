import { Hono } from 'hono';
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
  const budgetMs = warmupBudgetMs(c.req.header('x-porten-warmup-budget'), c.env.PORTEN_WARMUP_BUDGET_S);
  const id = `chatcmpl-${crypto.randomUUID().replaceAll('-', '')}`;
  return relay(c.env, c.executionCtx, { id, path: '/v1/chat/completions', body, stream: body.stream === true }, { model: body.model, needs: chatNeeds(body), budgetMs, keyHash: c.get('keyHash') });
});

openaiRoutes.post('/completions', async (c) => {
  const body = await readJson(c.req.raw, CompletionRequestSchema);
  const budgetMs = warmupBudgetMs(c.req.header('x-porten-warmup-budget'), c.env.PORTEN_WARMUP_BUDGET_S);
  const id = `cmpl-${crypto.randomUUID().replaceAll('-', '')}`;
  return relay(c.env, c.executionCtx, { id, path: '/v1/completions', body, stream: body.stream === true }, { model: body.model, needs: ['chat'], budgetMs, keyHash: c.get('keyHash') });
});

openaiRoutes.post('/embeddings', async (c) => {
  const body = await readJson(c.req.raw, EmbeddingRequestSchema);
  const budgetMs = warmupBudgetMs(c.req.header('x-porten-warmup-budget'), c.env.PORTEN_WARMUP_BUDGET_S);
  const id = `embd-${crypto.randomUUID().replaceAll('-', '')}`;
  return relay(c.env, c.executionCtx, { id, path: '/v1/embeddings', body, stream: false }, { model: body.model, needs: ['embeddings'], budgetMs, keyHash: c.get('keyHash') });
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
