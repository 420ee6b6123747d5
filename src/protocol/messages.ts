import { z } from 'zod';

/**
 * The wire protocol between the edge (NodeLink Durable Object) and node agents.
 * Every frame is one JSON text message. Both ends parse every frame with these
 * schemas (`safeParse`), never `JSON.parse(x) as T`.
 *
 * Versioning: the agent sends `v` in `node.hello`; the edge answers `hub.welcome`
 * or closes with `CloseCode.unsupportedVersion`.
 */
export const PROTOCOL_VERSION = 1;

/** Frames over this size are refused by both ends (`CloseCode.frameTooLarge`). */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;

const id = z.string().min(1).max(128);
const modelId = z.string().min(1).max(128);
const bytes = z.number().int().nonnegative();

export const ModelPhaseSchema = z.enum(['downloading', 'loading', 'ready', 'stopping', 'stopped', 'failed']);
export type ModelPhase = z.infer<typeof ModelPhaseSchema>;

export const LoadedModelSchema = z.object({
  model: modelId,
  phase: ModelPhaseSchema,
  /** Memory the engine actually uses, measured by the node after loading. */
  vram_mb: z.number().nonnegative().optional(),
});
export type LoadedModel = z.infer<typeof LoadedModelSchema>;

export const InventoryItemSchema = z.object({ model: modelId, bytes, sha256: z.string().optional() });
export type InventoryItem = z.infer<typeof InventoryItemSchema>;

export const UsageSchema = z.object({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
  total_tokens: z.number().int().nonnegative(),
});
export type Usage = z.infer<typeof UsageSchema>;

/** Machine-readable reasons a node gives for a failed inference or load. */
export const NodeErrorCodeSchema = z.enum([
  'bad_frame', // the frame failed validation; `message` names the field
  'unknown_model', // infer.start for a model this node has not loaded
  'engine_failed', // the engine process crashed or answered 5xx
  'engine_rejected', // the engine answered 4xx (bad request for this model)
  'download_failed',
  'verify_failed', // size or sha256 mismatch
  'disk_full',
  'load_failed',
  'busy', // per-node concurrency limit reached
  'cancelled',
  'internal',
]);
export type NodeErrorCode = z.infer<typeof NodeErrorCodeSchema>;

// ---------------------------------------------------------------- node → edge

export const NodeHelloSchema = z.object({
  type: z.literal('node.hello'),
  v: z.number().int(),
  node_id: id,
  agent_version: z.string().max(64),
  vram_budget_mb: z.number().nonnegative(),
  engines: z.array(z.string().max(32)).max(16),
  max_concurrency: z.number().int().positive().max(4096),
  loaded: z.array(LoadedModelSchema).max(1024),
  inventory: z.array(InventoryItemSchema).max(4096),
});

export const NodeHeartbeatSchema = z.object({
  type: z.literal('node.heartbeat'),
  inflight: z.number().int().nonnegative(),
});

export const NodeInventorySchema = z.object({
  type: z.literal('node.inventory'),
  inventory: z.array(InventoryItemSchema).max(4096),
});

/** Progress and lifecycle of one model on this node. `id` echoes the hub.load/unload that caused it, when any. */
export const ModelStateSchema = z.object({
  type: z.literal('model.state'),
  id: id.optional(),
  model: modelId,
  phase: ModelPhaseSchema,
  done_bytes: bytes.optional(),
  total_bytes: bytes.optional(),
  vram_mb: z.number().nonnegative().optional(),
  error: z.object({ code: NodeErrorCodeSchema, message: z.string().max(2000) }).optional(),
});

/** The engine's response status, sent once before any chunk. */
export const InferHeadSchema = z.object({
  type: z.literal('infer.head'),
  id,
  status: z.number().int().min(100).max(599),
  content_type: z.string().max(200),
});

/**
 * A slice of the engine's response body, passed through to the client verbatim
 * (for SSE: one or more whole `data: …\n\n` events, batched by the agent).
 * `seq` starts at 0 and increases by one per chunk of a request.
 */
export const InferChunkSchema = z.object({
  type: z.literal('infer.chunk'),
  id,
  seq: z.number().int().nonnegative(),
  data: z.string(),
});

export const InferEndSchema = z.object({
  type: z.literal('infer.end'),
  id,
  /** Number of chunks sent; lets the edge prove nothing was lost. */
  chunks: z.number().int().nonnegative(),
  usage: UsageSchema.optional(),
});

export const InferErrorSchema = z.object({
  type: z.literal('infer.error'),
  id,
  code: NodeErrorCodeSchema,
  message: z.string().max(2000),
});

/** Reply to an edge frame the node could not accept. */
export const NodeErrorSchema = z.object({
  type: z.literal('error'),
  id: id.optional(),
  code: NodeErrorCodeSchema,
  message: z.string().max(2000),
});

export const NodeToEdgeSchema = z.discriminatedUnion('type', [
  NodeHelloSchema,
  NodeHeartbeatSchema,
  NodeInventorySchema,
  ModelStateSchema,
  InferHeadSchema,
  InferChunkSchema,
  InferEndSchema,
  InferErrorSchema,
  NodeErrorSchema,
]);
export type NodeToEdge = z.infer<typeof NodeToEdgeSchema>;
export type NodeHello = z.infer<typeof NodeHelloSchema>;
export type ModelState = z.infer<typeof ModelStateSchema>;

// ---------------------------------------------------------------- edge → node

export const HubWelcomeSchema = z.object({
  type: z.literal('hub.welcome'),
  v: z.number().int(),
  node_id: id,
  heartbeat_s: z.number().positive(),
});

export const WeightsSourceSchema = z.object({
  /** `http(s)://…` or `hf://org/repo/path.gguf`. */
  url: z.string().min(1).max(2000),
  sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  bytes: bytes.optional(),
});
export type WeightsSource = z.infer<typeof WeightsSourceSchema>;

export const HubLoadSchema = z.object({
  type: z.literal('hub.load'),
  id,
  model: modelId,
  engine: z.enum(['builtin', 'openai']),
  source: WeightsSourceSchema,
  context_length: z.number().int().positive(),
  /** For engine `openai`: the upstream base URL the node fronts. */
  upstream_url: z.string().url().optional(),
});

export const HubUnloadSchema = z.object({
  type: z.literal('hub.unload'),
  id,
  model: modelId,
  reason: z.string().max(200).optional(),
});

/** Ask the node to take no new work and unload when idle (before maintenance or revocation). */
export const HubDrainSchema = z.object({ type: z.literal('hub.drain'), id });

export const InferStartSchema = z.object({
  type: z.literal('infer.start'),
  id,
  model: modelId,
  /** OpenAI path on the engine, e.g. `/v1/chat/completions`. */
  path: z.enum(['/v1/chat/completions', '/v1/completions', '/v1/embeddings']),
  /** The validated OpenAI request body, with `model` rewritten to the engine's name. */
  body: z.record(z.string(), z.unknown()),
});

export const InferCancelSchema = z.object({ type: z.literal('infer.cancel'), id });

export const HubErrorSchema = z.object({
  type: z.literal('error'),
  id: id.optional(),
  code: z.string().max(64),
  message: z.string().max(2000),
});

export const EdgeToNodeSchema = z.discriminatedUnion('type', [
  HubWelcomeSchema,
  HubLoadSchema,
  HubUnloadSchema,
  HubDrainSchema,
  InferStartSchema,
  InferCancelSchema,
  HubErrorSchema,
]);
export type EdgeToNode = z.infer<typeof EdgeToNodeSchema>;
export type HubLoad = z.infer<typeof HubLoadSchema>;
export type InferStart = z.infer<typeof InferStartSchema>;
