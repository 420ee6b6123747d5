import { Hono } from 'hono';
import type { Env } from '../env';
import { ApiError } from '../errors';
import { verifyLiveTicket } from '../live-ticket';
import { hubStub } from '../link/stubs';
import { secretState } from '../security/secrets';

type App = { Bindings: Env };

/**
 * `GET /admin/v1/live?ticket=…`: the dashboard's WebSocket of change
 * notices, held by the Hub. Authorised by a single-use ticket from `POST
 * /admin/v1/live-ticket` instead of a bearer header, which browsers cannot
 * send on a WebSocket; so app.ts mounts this before the admin routes' bearer
 * check.
 */
export const liveRoutes = new Hono<App>();

liveRoutes.get('/live', async (c) => {
  const admin = secretState('PORTEN_ADMIN_TOKEN', c.env.PORTEN_ADMIN_TOKEN);
  if (admin.kind !== 'ok') {
    throw new ApiError(
      'admin_disabled',
      admin.kind === 'weak'
        ? `Admin API is disabled: ${admin.message}`
        : 'Admin API is disabled: set the PORTEN_ADMIN_TOKEN secret (wrangler secret put PORTEN_ADMIN_TOKEN).',
    );
  }
  const ticket = await verifyLiveTicket(admin.value, c.req.query('ticket'));
  if (!ticket) {
    throw new ApiError('invalid_api_key', 'Missing, invalid or expired live ticket: get one from POST /admin/v1/live-ticket.', { param: 'ticket' });
  }
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
    throw new ApiError('invalid_request', 'This endpoint speaks WebSocket only (Upgrade: websocket).');
  }
  // Checked last, so a request that fails for another reason does not use the ticket up.
  if (!(await hubStub(c.env).useLiveTicket(ticket.mac, ticket.expiresAt))) {
    throw new ApiError('invalid_api_key', 'This live ticket was already used: get a new one from POST /admin/v1/live-ticket.', { param: 'ticket' });
  }
  return hubStub(c.env).fetch(c.req.raw);
});
