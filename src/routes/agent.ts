import { Hono } from 'hono';
import type { Env } from '../env';
import { bearer, safeEqual } from '../auth';
import { ApiError, toApiError } from '../errors';
import { hubStub, linkStub } from '../link/stubs';
import { AUTH_SURFACE, countFailure } from '../security/admin-auth';
import { clientKey } from '../security/client-ip';
import { refuseIfBlocked } from '../security/guard';
import { secretState } from '../security/secrets';
import { NODE_KEY_PREFIX, hashSecret } from '../tenancy/keys';
import { enrollRoutes } from './enroll';

type App = { Bindings: Env };

const NODE_ID = /^[a-zA-Z0-9._-]{1,64}$/;

/** The socket node agents dial out to. Authenticated here; the node's NodeLink takes the socket. */
export const agentRoutes = new Hono<App>();

agentRoutes.route('/enroll', enrollRoutes);

/**
 * A node key names exactly one node (from the operator's records); the fleet
 * key (PORTEN_NODE_KEY, for local and dev fleets, at least 32 characters)
 * lets the agent name itself with X-Porten-Node-Id, but only as a node the
 * operator has no record of. Either way the NodeLink is told the resolved id,
 * and a hello claiming another one is refused there. Wrong keys count against
 * the caller's address like wrong admin tokens (429 past the budget).
 */
agentRoutes.get('/connect', async (c) => {
  const token = bearer(c.req.raw);
  if (!token) throw new ApiError('invalid_api_key', "You didn't provide a node key. Send it as 'Authorization: Bearer <key>'.");
  const claimed = c.req.header('x-porten-node-id') ?? null;
  if (claimed !== null && !NODE_ID.test(claimed)) {
    throw new ApiError('invalid_request', 'X-Porten-Node-Id must be 1-64 characters of letters, digits, dot, dash or underscore.', {
      param: 'x-porten-node-id',
    });
  }
  const source = clientKey(c.req.raw);
  refuseIfBlocked(AUTH_SURFACE, source);
  const fleetKey = secretState('PORTEN_NODE_KEY', c.env.PORTEN_NODE_KEY);
  if (fleetKey.kind === 'weak' && safeEqual(token, c.env.PORTEN_NODE_KEY ?? '')) throw new ApiError('server_misconfigured', fleetKey.message);
  const fleet = fleetKey.kind === 'ok' && safeEqual(token, fleetKey.value);
  if (!fleet && !token.startsWith(NODE_KEY_PREFIX)) {
    await countFailure(c.env, source);
    throw new ApiError('invalid_api_key', 'Incorrect node key provided.');
  }
  const auth = await hubStub(c.env).authNode(fleet ? null : await hashSecret(token), claimed);
  if (!auth.ok) {
    if (auth.code === 'invalid_api_key' && !fleet) await countFailure(c.env, source);
    throw toApiError(auth);
  }
  const nodeId = auth.nodeId;
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
    return c.json(
      { error: { message: 'This endpoint expects a WebSocket upgrade.', type: 'invalid_request_error', param: null, code: 'invalid_request' } },
      426,
    );
  }
  const forward = new Request('https://link/connect', c.req.raw);
  forward.headers.set('x-porten-node-id', nodeId);
  return linkStub(c.env, nodeId).fetch(forward);
});
