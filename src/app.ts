import { Hono } from 'hono';
import type { Env } from './env';
import { ApiError, errorResponse } from './errors';
import { openaiRoutes } from './routes/openai';
import { agentRoutes } from './routes/agent';
import { publicRoutes } from './routes/public';
import { adminRoutes } from './routes/admin';
import { liveRoutes } from './routes/live';
import { metricsRoutes } from './routes/metrics';
import { allowedMethods } from './routes/methods';
import { cors } from './security/cors';
import { drainUnreadBody } from './security/drain';
import { securityHeaders } from './security/headers';
import { warnWeakSecrets } from './security/secrets';

function listed(items: string[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

/** The edge's HTTP surface. Every error leaves through `onError` in OpenAI's shape. */
export function createApp() {
  const app = new Hono<{ Bindings: Env }>();
  // Outermost: an early answer still drains the body first, so the client's kept-alive connection survives.
  app.use('*', drainUnreadBody);
  app.use('*', securityHeaders);
  app.use('*', async (c, next) => {
    warnWeakSecrets(c.env);
    await next();
  });
  // Before the API key check: browsers send preflights without credentials.
  app.use('/v1/*', cors);
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.route('/v1', openaiRoutes);
  app.route('/public/v1', publicRoutes);
  app.route('/agent/v1', agentRoutes);
  // Before adminRoutes: the live socket is authorised by a ticket, not the bearer header browsers cannot send.
  app.route('/admin/v1', liveRoutes);
  app.route('/metrics', metricsRoutes);
  app.route('/admin/v1/metrics', metricsRoutes);
  app.route('/admin/v1', adminRoutes);
  const allowed = allowedMethods(app.routes);
  app.notFound((c) => {
    const path = new URL(c.req.url).pathname;
    const methods = allowed(path);
    if (methods.length === 0) return errorResponse(new ApiError('not_found', `No route for ${c.req.method} ${path}.`));
    const allow = [...methods, 'OPTIONS'].join(', ');
    if (c.req.method === 'OPTIONS') return new Response(null, { status: 204, headers: { allow } });
    const res = errorResponse(new ApiError('method_not_allowed', `${c.req.method} is not allowed on ${path}; use ${listed(methods)}.`));
    res.headers.set('allow', allow);
    return res;
  });
  app.onError((err, c) => {
    if (err instanceof ApiError) return errorResponse(err);
    console.error(`unhandled error on ${c.req.method} ${c.req.path}:`, err);
    return errorResponse(new ApiError('internal_error', 'The server had an error while processing your request.'));
  });
  return app;
}
