import type { MiddlewareHandler } from 'hono';

/**
 * Response headers every answer carries: `X-Content-Type-Options: nosniff`
 * (a JSON error must never be sniffed into HTML), and `Cache-Control:
 * no-store` where a response can carry a secret — admin responses (keys, node
 * keys, live tickets) and enrollment (device codes, node keys) — so no
 * browser, proxy or CDN keeps a copy.
 */
export const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  const path = c.req.path;
  const secretBearing = path.startsWith('/admin/') || path.startsWith('/agent/v1/enroll');
  editHeaders(c, (h) => {
    h.set('x-content-type-options', 'nosniff');
    if (secretBearing) h.set('cache-control', 'no-store');
  });
};

type Ctx = Parameters<MiddlewareHandler>[0];

/**
 * Applies `edit` to the response's headers, copying the response first when
 * they are immutable (an answer passed through from a Durable Object). The
 * body stream is reused, never read. Upgraded sockets (101) are left alone.
 */
export function editHeaders(c: Ctx, edit: (h: Headers) => void): void {
  if (c.res.status === 101) return;
  try {
    edit(c.res.headers);
  } catch {
    c.res = new Response(c.res.body, c.res);
    edit(c.res.headers);
  }
}
