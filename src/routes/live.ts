import { Hono } from 'hono';
import type { Env } from '../env';
import { ApiError } from '../errors';
import { verifyLiveTicket } from '../live-ticket';
import { hubStub } from '../link/stubs';

type App = { Bindings: Env };

/**
 * `GET /admin/v1/live?ticket=…`: the dashboard's WebSocket of change
 * notices, held by the Hub. Authorised by a ticket from `POST
 * /admin/v1/live-ticket` instead of a bearer header, which browsers cannot
 * send on a WebSocket; so app.ts mounts this before the admin routes' bearer
 * check.
 */
export const liveRoutes = new Hono<App>();

liveRoutes.get('/live', async (c) => {
  if (!c.env.PORTEN_ADMIN_TOKEN) {
    throw new ApiError('admin_disabled', 'Admin API is disabled: set the PORTEN_ADMIN_TOKEN secret (wrangler secret put PORTEN_ADMIN_TOKEN).');
  }
  if (!(await verifyLiveTicket(c.env.PORTEN_ADMIN_TOKEN, c.req.query('ticket')))) {
    throw new ApiError('invalid_api_key', 'Missing, invalid or expired live ticket: get one from POST /admin/v1/live-ticket.', { param: 'ticket' });
  }
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
    throw new ApiError('invalid_request', 'This endpoint speaks WebSocket only (Upgrade: websocket).');
  }
  return hubStub(c.env).fetch(c.req.raw);
});
