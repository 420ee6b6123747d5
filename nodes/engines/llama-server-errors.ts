/**
 * llama-server's error bodies in porten's shape. llama-server answers
 * `{"error":{"code":400,"message":…,"type":"exceed_context_size_error","n_prompt_tokens":…}}`
 * (a numeric `code`, its own `type`s, extra fields); porten's engines answer
 * `{"error":{"message","type","param","code"}}` with the codes of
 * `nodes/engines/builtin/errors.ts`. Pure; table-tested.
 */

export interface PortenError {
  status: number;
  body: { error: { message: string; type: string; param: string | null; code: string } };
}

/** llama-server error `type` → porten code and status. Unknown 4xx types become `invalid_request`. */
const BY_TYPE: Record<string, { code: string; status: number }> = {
  exceed_context_size_error: { code: 'context_length_exceeded', status: 400 },
  invalid_request_error: { code: 'invalid_request', status: 400 },
  not_supported_error: { code: 'capability_not_supported', status: 400 },
  not_found_error: { code: 'not_found', status: 404 },
  permission_error: { code: 'invalid_request', status: 400 },
  authentication_error: { code: 'invalid_request', status: 400 },
};

const SERVER_TYPES = new Set(['server_error', 'unavailable_error']);

/** The request field an error message names, when it names one. */
export function paramOf(path: string, message: string): string | null {
  const field = /Field '([A-Za-z_][\w.[\]]*)'/.exec(message)?.[1];
  if (field) return field;
  if (/json[ _-]?schema|response_format|grammar/i.test(message)) return 'response_format';
  if (/tool call id|tool_call_id/i.test(message)) return 'messages';
  if (/tool_choice/i.test(message)) return 'tool_choice';
  if (/\btools?\b/i.test(message)) return 'tools';
  if (/logit_bias/i.test(message)) return 'logit_bias';
  if (/context size|exceeds the available context/i.test(message))
    return path.endsWith('/completions') && !path.includes('chat') ? 'prompt' : path.endsWith('/embeddings') ? 'input' : 'messages';
  return null;
}

export function portenError(status: number, code: string, message: string, param: string | null = null): PortenError {
  const type = status >= 500 ? 'server_error' : 'invalid_request_error';
  return { status, body: { error: { message, type, param, code } } };
}

/**
 * Maps one llama-server error body (already parsed) to porten's. Server-side
 * failures keep their 5xx status (the relay reports them as `engine_failed`).
 * Returns undefined for a body that is not an error.
 */
export function mapLlamaError(path: string, status: number, body: unknown): PortenError | undefined {
  const err = (body as { error?: unknown } | null)?.error;
  if (!err || typeof err !== 'object') return undefined;
  const e = err as { message?: unknown; type?: unknown };
  const message = typeof e.message === 'string' && e.message ? e.message.slice(0, 1500) : `engine answered ${status}`;
  const type = typeof e.type === 'string' ? e.type : '';
  if (status >= 500 && (SERVER_TYPES.has(type) || !BY_TYPE[type])) return portenError(status, 'internal', message);
  const mapped = BY_TYPE[type] ?? { code: 'invalid_request', status: status >= 400 && status < 500 ? status : 400 };
  const param = paramOf(path, message);
  if (mapped.code === 'context_length_exceeded') {
    const n = body as { error: { n_prompt_tokens?: unknown; n_ctx?: unknown } };
    const tokens = typeof n.error.n_prompt_tokens === 'number' ? n.error.n_prompt_tokens : undefined;
    const ctx = typeof n.error.n_ctx === 'number' ? n.error.n_ctx : undefined;
    // The builtin engine's wording, so the two read the same.
    const msg =
      tokens !== undefined && ctx !== undefined
        ? `This model's context is ${ctx} tokens; the prompt uses ${tokens}, leaving no room for a completion.`
        : message;
    return portenError(400, mapped.code, msg, param);
  }
  return portenError(mapped.status, mapped.code, message, param);
}
