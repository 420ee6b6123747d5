import { errorBody } from '../errors';

/**
 * A NodeLink's "not here" answer to a dispatch, given before any byte reached
 * the client, so the Worker can send the request elsewhere instead of failing
 * it. Carried as a 503 with the reason in `x-porten-refused`; the Worker never
 * passes such a response to a client.
 */
export const REFUSED_HEADER = 'x-porten-refused';

export const REFUSAL_REASONS = [
  /** The node does not serve the model now (evicted, stopping, failed, never loaded). */
  'model_gone',
  /** Every slot of the node is taken. */
  'busy',
  /** The node has no live, greeted socket. */
  'no_socket',
  /** The node stopped answering (liveness or a missed deadline); skipped until it shows life again. */
  'suspect',
  /** The node did not acknowledge the request within the first-reply deadline. */
  'timeout',
  /** The node failed the request, or its socket was lost, before the first byte. */
  'node_failed',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export function refusal(reason: RefusalReason, message: string): Response {
  return Response.json(errorBody('no_available_node', message), { status: 503, headers: { [REFUSED_HEADER]: reason } });
}

/** The refusal reason of a NodeLink answer, or null when the answer is for the client. */
export function refusedBy(res: Response): RefusalReason | null {
  const r = res.headers.get(REFUSED_HEADER);
  return r && (REFUSAL_REASONS as readonly string[]).includes(r) ? (r as RefusalReason) : null;
}
