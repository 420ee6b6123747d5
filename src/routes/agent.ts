import { Hono } from 'hono';
import type { Env } from '../env';
import { requireBearer } from '../auth';
import { ApiError } from '../errors';
import { linkStub } from '../link/stubs';

type App = { Bindings: Env };

const NODE_ID = /^[a-zA-Z0-9._-]{1,64}$/;

/** The socket node agents dial out to. Authenticated here; the node's NodeLink takes the socket. */
export const agentRoutes = new Hono<App>();

agentRoutes.get('/connect', async (c) => {
  requireBearer(c.req.raw, c.env.PORTEN_NODE_KEY, 'a node key');
  const nodeId = c.req.header('x-porten-node-id') ?? '';
  if (!NODE_ID.test(nodeId)) {
    throw new ApiError('invalid_request', 'X-Porten-Node-Id must be 1-64 characters of letters, digits, dot, dash or underscore.', { param: 'x-porten-node-id' });
  }
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
    return c.json({ error: { message: 'This endpoint expects a WebSocket upgrade.', type: 'invalid_request_error', param: null, code: 'invalid_request' } }, 426);
  }
  const forward = new Request('https://link/connect', c.req.raw);
  return linkStub(c.env, nodeId).fetch(forward);
});
