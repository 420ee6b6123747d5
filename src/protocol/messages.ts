import * as z from 'zod';

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

/**
 * What the node detected about its hardware (additive: agents before it omit it). `budget_source`
 * says where `vram_budget_mb` came from: `configured`, `gpu` (the GPU backend's VRAM state),
 * `nvidia-smi`/`rocm-smi`, or `system-ram`.
 */
export const NodeHardwareSchema = z.object({
  backend: z.enum(['cuda', 'vulkan', 'metal', 'cpu']).optional(),
  driver: z.string().max(64).optional(),
  gpus: z.array(z.object({ name: z.string().max(128), vram_mb: z.number().nonnegative().optional(), free_mb: z.number().nonnegative().optional() })).max(64),
  budget_source: z.string().max(32).optional(),
  /** Default engine threads (physical cores). */
  threads: z.number().int().positive().max(4096).optional(),
});
export type NodeHardware = z.infer<typeof NodeHardwareSchema>;

/**
 * Optional protocol features an agent declares in its hello; the edge uses a
 * feature only with agents that declared it, so older agents keep working:
 * - `accepted`: answers every `infer.start` at once (the first-reply deadline): with `infer.accepted`, or with its
 *   head or an error when one is ready within a few milliseconds (the edge takes either as the answer);
 * - `credits`: honours `infer.start.window` and `infer.credit` (per-stream flow control);
 * - `body_parts`: reassembles `infer.start` bodies sent as `infer.body` frames;
 * - `ping`: sends `node.ping` and expects the `hub.pong` auto-response (liveness both ways).
 */
export const NodeFeatureSchema = z.enum(['accepted', 'credits', 'body_parts', 'ping']);
export type NodeFeature = z.infer<typeof NodeFeatureSchema>;

/** The liveness probe an agent sends every few seconds; answered by the runtime (auto-response) without waking the NodeLink. */
export const NODE_PING = '{"type":"node.ping"}';
export const HUB_PONG = '{"type":"hub.pong"}';

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
  hardware: NodeHardwareSchema.optional(),
  features: z.array(NodeFeatureSchema).max(16).optional(),
});

export const NodePingSchema = z.object({ type: z.literal('node.ping') });

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

/** The node took the request (sent at once, before the engine is asked): the edge's first-reply deadline ends here. */
export const InferAcceptedSchema = z.object({ type: z.literal('infer.accepted'), id });

/** What the agent measured at the engine for one request. */
export const InferTimingsSchema = z.object({
  /** From sending the request to the engine to its first body byte (streams: the first SSE event). */
  ttft_ms: z.number().nonnegative().max(86_400_000),
  /** From sending the request to the engine to the end of its body. */
  total_ms: z.number().nonnegative().max(86_400_000),
});
export type InferTimings = z.infer<typeof InferTimingsSchema>;

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
  timings: InferTimingsSchema.optional(),
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
  NodePingSchema,
  InferAcceptedSchema,
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

/** The runtime's auto-response to `node.ping`. */
export const HubPongSchema = z.object({ type: z.literal('hub.pong') });

export const WeightsSourceSchema = z.object({
  /** `http(s)://…` or `hf://org/repo/path.gguf`. */
  url: z.string().min(1).max(2000),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  bytes: bytes.optional(),
  /** The catalog accepts this file without any sha256 (neither pinned nor sent by the origin): size only. */
  allow_unverified: z.boolean().optional(),
});
export type WeightsSource = z.infer<typeof WeightsSourceSchema>;

export const HubLoadSchema = z.object({
  type: z.literal('hub.load'),
  id,
  model: modelId,
  engine: z.enum(['builtin', 'openai', 'llama-server']),
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
  /** The validated OpenAI request body. Absent when it follows in `body_parts` `infer.body` frames. */
  body: z.record(z.string(), z.unknown()).optional(),
  /** How many `infer.body` frames carry the body's JSON text (a body too large for one frame). */
  body_parts: z.number().int().positive().max(64).optional(),
  /** The client's `x-request-id` (or the edge's), for the node's and the engine's logs. */
  request_id: z.string().max(128).optional(),
  /** Bytes of stream data the node may send ahead of the edge's `infer.credit` (agents with `credits`). */
  window: z.number().int().positive().optional(),
});

/** One slice of an `infer.start` body's JSON text; `seq` from 0 to `body_parts - 1`, in order. */
export const InferBodySchema = z.object({ type: z.literal('infer.body'), id, seq: z.number().int().nonnegative(), data: z.string() });

/** The client has consumed `bytes` of this stream's data (a running total): the node may send up to `bytes + window`. */
export const InferCreditSchema = z.object({ type: z.literal('infer.credit'), id, bytes: z.number().int().nonnegative() });

export const InferCancelSchema = z.object({ type: z.literal('infer.cancel'), id });

export const HubErrorSchema = z.object({
  type: z.literal('error'),
  id: id.optional(),
  code: z.string().max(64),
  message: z.string().max(2000),
});

export const EdgeToNodeSchema = z.discriminatedUnion('type', [
  HubWelcomeSchema,
  HubPongSchema,
  HubLoadSchema,
  HubUnloadSchema,
  HubDrainSchema,
  InferStartSchema,
  InferBodySchema,
  InferCreditSchema,
  InferCancelSchema,
  HubErrorSchema,
]);
export type EdgeToNode = z.infer<typeof EdgeToNodeSchema>;
export type HubLoad = z.infer<typeof HubLoadSchema>;
export type HubUnload = z.infer<typeof HubUnloadSchema>;
export type InferStart = z.infer<typeof InferStartSchema>;
export type InferEnd = z.infer<typeof InferEndSchema>;
