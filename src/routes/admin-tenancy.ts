import { Hono } from 'hono';
import type * as z from 'zod';
import type { Env } from '../env';
import { ApiError, toApiError } from '../errors';
import { readJson } from '../api/body';
import { hubStub, linkStub } from '../link/stubs';
import { edgeCache } from '../cache/edge-cache';
import { ApproveSchema, CreateKeySchema, CreateNodeSchema, PatchNodeSchema, UsageQuerySchema, NODE_ID_RE } from '../tenancy/schemas';

type App = { Bindings: Env };

/**
 * The operator's tenancy API, mounted under /admin/v1 behind the admin token:
 * API keys, node keys and records, enrollment approvals, the usage ledger.
 * `GET /nodes` itself lives in admin.ts.
 */
export const adminTenancyRoutes = new Hono<App>();

adminTenancyRoutes.get('/keys', async (c) => c.json({ object: 'list', data: await hubStub(c.env).listKeys() }));

/** The full key is in this response only; the edge keeps a SHA-256 hash and a display prefix. */
adminTenancyRoutes.post('/keys', async (c) => {
  const input = await readJson(c.req.raw, CreateKeySchema);
  const created = await hubStub(c.env).createKey(input);
  // This isolate's filter of live keys learns the new key now; other isolates within the cache bound or on a miss.
  edgeCache(c.env).keys.forgetFilter();
  return c.json(created, 201);
});

adminTenancyRoutes.delete('/keys/:id', async (c) => {
  const id = c.req.param('id');
  if (!(await hubStub(c.env).revokeKey(id))) throw new ApiError('not_found', `No API key with id '${id}'.`, { param: 'id' });
  edgeCache(c.env).keys.forgetFilter();
  return c.json({ id, revoked: true });
});

/** Pre-issues a node key for a headless machine; shown once (the response is `no-store`, like every admin answer). */
adminTenancyRoutes.post('/nodes', async (c) => {
  const input = await readJson(c.req.raw, CreateNodeSchema);
  const r = await hubStub(c.env).createNode(input);
  if (!r.ok) throw toApiError(r);
  return c.json({ node_id: r.node_id, node_key: r.node_key }, 201);
});

adminTenancyRoutes.patch('/nodes/:id', async (c) => {
  const id = nodeIdParam(c.req.param('id'));
  const patch = await readJson(c.req.raw, PatchNodeSchema);
  const rec = await hubStub(c.env).patchNode(id, patch);
  if (!rec) throw new ApiError('not_found', `No node with id '${id}'.`, { param: 'id' });
  return c.json({
    id: rec.id,
    region: rec.region,
    trust: rec.trust,
    owner: rec.owner,
    revoked: rec.revoked,
    max_budget_mb: rec.max_budget_mb,
    max_concurrency: rec.max_concurrency,
  });
});

/** Revokes a node: its key stops working, its replicas are forgotten, and its socket closes now with 4004. */
adminTenancyRoutes.delete('/nodes/:id', async (c) => {
  const id = nodeIdParam(c.req.param('id'));
  if (!(await hubStub(c.env).revokeNode(id))) throw new ApiError('not_found', `No node with id '${id}'.`, { param: 'id' });
  await linkStub(c.env, id).revoke();
  return c.json({ id, revoked: true });
});

adminTenancyRoutes.get('/enrollments', async (c) => c.json({ object: 'list', data: await hubStub(c.env).listEnrollments() }));

adminTenancyRoutes.post('/enrollments/:code/approve', async (c) => {
  const body = await readOptionalJson(c.req.raw, ApproveSchema);
  const r = await hubStub(c.env).decideEnrollment(c.req.param('code'), 'approve', body);
  if (!r.ok) throw toApiError(r);
  return c.json({ user_code: r.user_code, status: r.status });
});

adminTenancyRoutes.post('/enrollments/:code/deny', async (c) => {
  const r = await hubStub(c.env).decideEnrollment(c.req.param('code'), 'deny', null);
  if (!r.ok) throw toApiError(r);
  return c.json({ user_code: r.user_code, status: r.status });
});

/** Aggregated usage ledger: `group_by` = comma list of key, node, model; `bucket` = hour|day; `since` = unix seconds or ISO date (default 7 days ago). */
adminTenancyRoutes.get('/usage', async (c) => {
  const parsed = UsageQuerySchema.safeParse(c.req.query());
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = issue.code === 'unrecognized_keys' ? issue.keys[0] : issue.path.join('.') || null;
    throw new ApiError('invalid_request', `Invalid query: ${issue.message}`, { param });
  }
  return c.json({ object: 'list', data: await hubStub(c.env).usage(parsed.data) });
});

function nodeIdParam(id: string): string {
  if (!NODE_ID_RE.test(id)) throw new ApiError('invalid_request', 'A node id is 1-64 letters, digits, dot, dash or underscore.', { param: 'id' });
  return id;
}

/** An empty body means every field's default (approving from a bare `curl -X POST`). */
async function readOptionalJson<T>(req: Request, schema: z.ZodType<T>): Promise<T> {
  if (!req.body || req.headers.get('content-length') === '0') return schema.parse({});
  return readJson(req, schema);
}
