/**
 * The closed set of error codes the edge returns, with their HTTP status and
 * OpenAI error `type`. Every error response is rendered from this map by
 * `errorBody`, so clients always see `{error:{message,type,param,code}}`.
 */
export const ERROR_CODES = {
  invalid_request: { status: 400, type: 'invalid_request_error' },
  capability_not_supported: { status: 400, type: 'invalid_request_error' },
  invalid_api_key: { status: 401, type: 'authentication_error' },
  model_not_allowed: { status: 403, type: 'permission_error' },
  model_not_found: { status: 404, type: 'invalid_request_error' },
  not_found: { status: 404, type: 'invalid_request_error' },
  method_not_allowed: { status: 405, type: 'invalid_request_error' },
  request_too_large: { status: 413, type: 'invalid_request_error' },
  rate_limited: { status: 429, type: 'rate_limit_error' },
  // A model's wait queue is at its bound (catalog queue_max / PORTEN_QUEUE_MAX): not the key's fault, so not rate_limited.
  queue_full: { status: 429, type: 'rate_limit_error' },
  internal_error: { status: 500, type: 'server_error' },
  upstream_error: { status: 502, type: 'server_error' },
  model_warming: { status: 503, type: 'server_error' },
  no_available_node: { status: 503, type: 'server_error' },
  admin_disabled: { status: 503, type: 'server_error' },
  /** A configured secret is too weak to use (see src/security/secrets.ts); only a caller who presents it learns so. */
  server_misconfigured: { status: 503, type: 'server_error' },
  forbidden: { status: 403, type: 'permission_error' },
  // RFC 8628 token-endpoint errors, rendered in OpenAI's shape with `code` = the RFC name.
  authorization_pending: { status: 400, type: 'invalid_request_error' },
  slow_down: { status: 400, type: 'invalid_request_error' },
  access_denied: { status: 400, type: 'invalid_request_error' },
  expired_token: { status: 400, type: 'invalid_request_error' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorInit {
  param?: string | null;
  /** Seconds, sent as `Retry-After`. */
  retryAfterS?: number;
}

/** The one error type the edge throws on purpose; anything else becomes a logged 500. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly param: string | null;
  readonly retryAfterS?: number;

  constructor(code: ErrorCode, message: string, init: ErrorInit = {}) {
    super(message);
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.param = init.param ?? null;
    this.retryAfterS = init.retryAfterS;
  }
}

export function errorBody(code: ErrorCode, message: string, param: string | null = null) {
  return { error: { message, type: ERROR_CODES[code].type, param, code } };
}

/** Renders an ApiError as an OpenAI-shaped JSON response. */
export function errorResponse(err: ApiError): Response {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (err.retryAfterS !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfterS)));
  return new Response(JSON.stringify(errorBody(err.code, err.message, err.param)), { status: err.status, headers });
}

/** A serialisable failure that crosses Durable Object RPC boundaries (class identity does not survive RPC). */
export interface Failure {
  ok: false;
  code: ErrorCode;
  message: string;
  param?: string | null;
  retryAfterS?: number;
}

export function fail(code: ErrorCode, message: string, init: ErrorInit = {}): Failure {
  return { ok: false, code, message, param: init.param ?? null, retryAfterS: init.retryAfterS };
}

export function toApiError(f: Failure): ApiError {
  return new ApiError(f.code, f.message, { param: f.param, retryAfterS: f.retryAfterS });
}
