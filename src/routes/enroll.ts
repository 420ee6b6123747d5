import { Hono } from 'hono';
import type { Env } from '../env';
import { toApiError } from '../errors';
import { readJson } from '../api/body';
import { hubStub } from '../link/stubs';
import { EnrollStartSchema, EnrollTokenSchema } from '../tenancy/schemas';

type App = { Bindings: Env };

/**
 * Node enrollment by browser approval (RFC 8628), unauthenticated by design:
 * the device code is the agent's secret, the operator's approval the trust.
 * Token-endpoint errors keep RFC 8628's names as the error `code`
 * (`authorization_pending`, `slow_down`, `access_denied`, `expired_token`),
 * in OpenAI's error shape, with status 400.
 */
export const enrollRoutes = new Hono<App>();

enrollRoutes.post('/', async (c) => {
  const { hostname } = await readJson(c.req.raw, EnrollStartSchema);
  const r = await hubStub(c.env).startEnrollment(hostname);
  if (!r.ok) throw toApiError(r);
  const base = `${new URL(c.req.url).origin}/dashboard`;
  c.header('cache-control', 'no-store');
  return c.json({
    device_code: r.device_code,
    user_code: r.user_code,
    verification_uri: base,
    verification_uri_complete: `${base}#enroll=${r.user_code}`,
    expires_in: r.expires_in,
    interval: r.interval,
  });
});

enrollRoutes.post('/token', async (c) => {
  const { device_code } = await readJson(c.req.raw, EnrollTokenSchema);
  const r = await hubStub(c.env).pollEnrollment(device_code);
  if (!r.ok) throw toApiError(r);
  c.header('cache-control', 'no-store');
  return c.json({ node_id: r.node_id, node_key: r.node_key });
});
