import { Hono } from 'hono';
import type { Env } from '../env';
import { readJson } from '../api/body';
import { hubStub } from '../link/stubs';
import { clientKey } from '../security/client-ip';
import { refuseIfBlocked, throwFailure } from '../security/guard';
import { EnrollStartSchema, EnrollTokenSchema } from '../tenancy/schemas';

type App = { Bindings: Env };

/**
 * Node enrollment by browser approval (RFC 8628), unauthenticated by design:
 * the device code is the agent's secret, the operator's approval the trust.
 * Token-endpoint errors keep RFC 8628's names as the error `code`
 * (`authorization_pending`, `slow_down`, `access_denied`, `expired_token`),
 * in OpenAI's error shape, with status 400. Both endpoints are budgeted per
 * client address (429 with Retry-After past it; src/security/hub-throttles.ts),
 * and pending codes are capped per address and fleet-wide without one client
 * being able to lock everyone out (src/tenancy/enrollment-admission.ts).
 */
export const enrollRoutes = new Hono<App>();

enrollRoutes.post('/', async (c) => {
  const source = clientKey(c.req.raw);
  refuseIfBlocked('enroll', source);
  const { hostname } = await readJson(c.req.raw, EnrollStartSchema);
  const r = await hubStub(c.env).startEnrollment(hostname, source);
  if (!r.ok) throwFailure('enroll', source, r);
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
  const source = clientKey(c.req.raw);
  refuseIfBlocked('enroll-poll', source);
  const { device_code } = await readJson(c.req.raw, EnrollTokenSchema);
  const r = await hubStub(c.env).pollEnrollment(device_code, source);
  if (!r.ok) throwFailure('enroll-poll', source, r);
  c.header('cache-control', 'no-store');
  return c.json({ node_id: r.node_id, node_key: r.node_key });
});
