import { Hono } from 'hono';
import type { Env } from './env';
import { ApiError, errorResponse } from './errors';
import { openaiRoutes } from './routes/openai';
import { agentRoutes } from './routes/agent';
import { publicRoutes } from './routes/public';
import { adminRoutes } from './routes/admin';
import { liveRoutes } from './routes/live';

/** The edge's HTTP surface. Every error leaves through `onError` in OpenAI's shape. */
export function createApp() {
  const app = new Hono<{ Bindings: Env }>();
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.route('/v1', openaiRoutes);
  app.route('/public/v1', publicRoutes);
  app.route('/agent/v1', agentRoutes);
  // Before adminRoutes: the live socket is authorised by a ticket, not the bearer header browsers cannot send.
  app.route('/admin/v1', liveRoutes);
  app.route('/admin/v1', adminRoutes);
  app.notFound((c) => errorResponse(new ApiError('not_found', `No route for ${c.req.method} ${new URL(c.req.url).pathname}.`)));
  app.onError((err, c) => {
    if (err instanceof ApiError) return errorResponse(err);
    console.error(`unhandled error on ${c.req.method} ${c.req.path}:`, err);
    return errorResponse(new ApiError('internal_error', 'The server had an error while processing your request.'));
  });
  return app;
}
