import type * as z from 'zod';
import { ChatCompletionRequestSchema } from '../../src/api/chat-schema';
import { CompletionRequestSchema } from '../../src/api/completion-schema';
import { EmbeddingRequestSchema } from '../../src/api/embedding-schema';
import { CatalogEntrySchema, CatalogPatchSchema } from '../../src/hub/catalog';
import {
  ApproveSchema,
  CreateKeySchema,
  CreateNodeSchema,
  EnrollStartSchema,
  EnrollTokenSchema,
  PatchNodeSchema,
  UsageQuerySchema,
} from '../../src/tenancy/schemas';

/**
 * The edge's endpoints for docs/api.md. Request shapes are the zod schemas the routes parse with (rendered by
 * scripts/docs/api.ts), never retyped; test/worker/docs-endpoints.test.ts fails when this list and the routes the
 * Worker registers differ. Pure data: imported by a Node script and by a workerd test.
 */

export type Auth = 'none' | 'api key' | 'admin token' | 'node key' | 'live ticket';

export interface Endpoint {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Path parameters in braces, as the docs write them (`/v1/models/{id}`). */
  path: string;
  auth: Auth;
  summary: string;
  /** The JSON body's schema (or the query's, for `query`), by the name the schema has in src/. */
  body?: { name: string; schema: z.ZodType };
  query?: { name: string; schema: z.ZodType } | string;
}

const schema = (name: string, s: z.ZodType) => ({ name, schema: s });

export const ENDPOINTS: readonly Endpoint[] = [
  { method: 'GET', path: '/healthz', auth: 'none', summary: '200 `{"ok":true}` once the edge answers.' },
  {
    method: 'GET',
    path: '/v1/models',
    auth: 'api key',
    summary: 'OpenAI model list; each entry also has `context_length`, `capabilities`, `vram_mb` and `state` (`cold`, `loading`, `ready`).',
  },
  { method: 'GET', path: '/v1/models/{id}', auth: 'api key', summary: 'One model; `404 model_not_found` for an unknown, disabled or not-allowed id.' },
  {
    method: 'POST',
    path: '/v1/chat/completions',
    auth: 'api key',
    summary: 'Chat completion, streaming (SSE) or not; tools, JSON mode, images for `vision` models.',
    body: schema('ChatCompletionRequestSchema', ChatCompletionRequestSchema),
  },
  {
    method: 'POST',
    path: '/v1/completions',
    auth: 'api key',
    summary: 'Legacy text completion, one prompt per request.',
    body: schema('CompletionRequestSchema', CompletionRequestSchema),
  },
  {
    method: 'POST',
    path: '/v1/embeddings',
    auth: 'api key',
    summary: 'Embeddings from a model with the `embeddings` capability.',
    body: schema('EmbeddingRequestSchema', EmbeddingRequestSchema),
  },
  {
    method: 'GET',
    path: '/public/v1/models/warming',
    auth: 'none',
    summary: 'Warm-up progress `{model, ready, phase, done_mb, total_mb, pct, eta_s}`; `phase` ∈ `cold, downloading, loading, ready, failed`.',
    query: '`model` (required): the model id.',
  },
  {
    method: 'POST',
    path: '/agent/v1/enroll',
    auth: 'none',
    summary: 'Starts an RFC 8628 device enrollment (`porten login`): device code, user code, verification URL.',
    body: schema('EnrollStartSchema', EnrollStartSchema),
  },
  {
    method: 'POST',
    path: '/agent/v1/enroll/token',
    auth: 'none',
    summary: 'Polls an enrollment; once approved, returns `{node_id, node_key}` exactly once.',
    body: schema('EnrollTokenSchema', EnrollTokenSchema),
  },
  { method: 'GET', path: '/agent/v1/connect', auth: 'node key', summary: 'The WebSocket node agents dial out to (wire protocol in `src/protocol/`).' },
  { method: 'GET', path: '/admin/v1/models', auth: 'admin token', summary: 'The whole catalog, disabled entries included.' },
  {
    method: 'POST',
    path: '/admin/v1/models',
    auth: 'admin token',
    summary: 'Adds or replaces a catalog entry (201). The seed file never overwrites an entry written here.',
    body: schema('CatalogEntrySchema', CatalogEntrySchema),
  },
  {
    method: 'PATCH',
    path: '/admin/v1/models/{id}',
    auth: 'admin token',
    summary: 'Enables or disables an entry; a disabled model leaves `/v1/models` at once.',
    body: schema('CatalogPatchSchema', CatalogPatchSchema),
  },
  {
    method: 'GET',
    path: '/admin/v1/nodes',
    auth: 'admin token',
    summary: 'Fleet state: budget, memory used, loaded models and their phase, inventory, region, trust.',
  },
  {
    method: 'POST',
    path: '/admin/v1/nodes',
    auth: 'admin token',
    summary: 'Pre-issues a node key for a headless machine (shown once).',
    body: schema('CreateNodeSchema', CreateNodeSchema),
  },
  {
    method: 'PATCH',
    path: '/admin/v1/nodes/{id}',
    auth: 'admin token',
    summary: "Sets a node's region, trust class or owner.",
    body: schema('PatchNodeSchema', PatchNodeSchema),
  },
  {
    method: 'DELETE',
    path: '/admin/v1/nodes/{id}',
    auth: 'admin token',
    summary: 'Revokes a node: its key stops working and its socket closes at once with 4004.',
  },
  { method: 'GET', path: '/admin/v1/keys', auth: 'admin token', summary: 'Managed API keys (display prefix, restrictions, limits; never the key).' },
  {
    method: 'POST',
    path: '/admin/v1/keys',
    auth: 'admin token',
    summary: 'Creates a managed key `sk-porten-…` with optional restrictions and limits; the key is in this response only.',
    body: schema('CreateKeySchema', CreateKeySchema),
  },
  { method: 'DELETE', path: '/admin/v1/keys/{id}', auth: 'admin token', summary: 'Revokes a managed key.' },
  { method: 'GET', path: '/admin/v1/enrollments', auth: 'admin token', summary: 'Enrollments waiting for approval.' },
  {
    method: 'POST',
    path: '/admin/v1/enrollments/{code}/approve',
    auth: 'admin token',
    summary: 'Approves an enrollment with the node id, region, trust class and owner it gets; an empty body takes the defaults.',
    body: schema('ApproveSchema', ApproveSchema),
  },
  { method: 'POST', path: '/admin/v1/enrollments/{code}/deny', auth: 'admin token', summary: 'Denies an enrollment.' },
  {
    method: 'GET',
    path: '/admin/v1/usage',
    auth: 'admin token',
    summary: 'The usage ledger aggregated by key, node and/or model per hour or day.',
    query: schema('UsageQuerySchema', UsageQuerySchema),
  },
  {
    method: 'GET',
    path: '/admin/v1/planner/decisions',
    auth: 'admin token',
    summary: "The planner's last decisions with their rule and reason, newest first (500 kept).",
    query: '`limit`: 1–500, default 100.',
  },
  {
    method: 'GET',
    path: '/metrics',
    auth: 'admin token',
    summary:
      'Prometheus text exposition of the fleet: requests by outcome, in-flight, queue depth, latency histograms, tokens, loads, evictions, downloads, node liveness, Hub calls ([Operations](operations.md#metrics)).',
  },
  {
    method: 'GET',
    path: '/admin/v1/metrics',
    auth: 'admin token',
    summary: 'The same as `GET /metrics`, for operators who keep everything under `/admin/v1`.',
  },
  {
    method: 'GET',
    path: '/admin/v1/demand',
    auth: 'admin token',
    summary: 'Served and unmet requests per model per minute.',
    query: '`minutes`: 1–60, default 60.',
  },
  { method: 'POST', path: '/admin/v1/live-ticket', auth: 'admin token', summary: "A 60-second ticket for the dashboard's live WebSocket." },
  {
    method: 'GET',
    path: '/admin/v1/live',
    auth: 'live ticket',
    summary: 'WebSocket pushing `{"type":"changed","topics":[…]}` when fleet, catalog, demand or keys change.',
    query: '`ticket`: from `POST /admin/v1/live-ticket`.',
  },
];
