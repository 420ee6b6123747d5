import * as z from 'zod';

/**
 * What the Worker tells a NodeLink about a request besides its body. It rides
 * in headers so the body — the validated OpenAI JSON, up to 8 MiB — goes from
 * the Worker to the node's socket as text, never parsed or re-encoded again.
 */
export const DispatchMetaSchema = z.object({
  /** The response id (`chatcmpl-…`): the request's identity on the wire and in the usage ledger. */
  id: z.string().min(1).max(128),
  model: z.string().min(1).max(128),
  path: z.enum(['/v1/chat/completions', '/v1/completions', '/v1/embeddings']),
  stream: z.boolean(),
  /** Ledger key id (a managed key's id, or `bootstrap`). */
  key: z.string().min(1).max(128),
  /** The client's (or the edge's) x-request-id, for logs along the way. */
  requestId: z.string().min(1).max(128),
  /** Upper bounds for the usage the node may report: prompt ≤ context, completion ≤ max tokens. */
  maxPrompt: z.number().int().positive(),
  maxCompletion: z.number().int().nonnegative(),
  /** False on the Worker's last attempt: a failure before the first byte is then the client's answer, not a refusal. */
  refusable: z.boolean(),
  /** Requests queue at the Hub for this model: report this one's end at once, so its slot serves the next. */
  urgent: z.boolean(),
});
export type DispatchMeta = z.infer<typeof DispatchMetaSchema>;

const H = {
  id: 'x-porten-id',
  model: 'x-porten-model',
  path: 'x-porten-path',
  stream: 'x-porten-stream',
  key: 'x-porten-key',
  requestId: 'x-porten-request-id',
  maxPrompt: 'x-porten-max-prompt',
  maxCompletion: 'x-porten-max-completion',
  refusable: 'x-porten-refusable',
  urgent: 'x-porten-urgent',
} as const;

export function dispatchHeaders(m: DispatchMeta): Record<string, string> {
  return {
    [H.id]: m.id,
    [H.model]: m.model,
    [H.path]: m.path,
    [H.stream]: m.stream ? '1' : '0',
    [H.key]: m.key,
    [H.requestId]: m.requestId,
    [H.maxPrompt]: String(m.maxPrompt),
    [H.maxCompletion]: String(m.maxCompletion),
    [H.refusable]: m.refusable ? '1' : '0',
    [H.urgent]: m.urgent ? '1' : '0',
  };
}

export function parseDispatchHeaders(h: Headers): DispatchMeta | null {
  const r = DispatchMetaSchema.safeParse({
    id: h.get(H.id),
    model: h.get(H.model),
    path: h.get(H.path),
    stream: h.get(H.stream) === '1',
    key: h.get(H.key),
    requestId: h.get(H.requestId),
    maxPrompt: Number(h.get(H.maxPrompt)),
    maxCompletion: Number(h.get(H.maxCompletion)),
    refusable: h.get(H.refusable) === '1',
    urgent: h.get(H.urgent) === '1',
  });
  return r.success ? r.data : null;
}
