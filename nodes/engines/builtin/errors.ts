import type { ServerResponse } from 'node:http';

/** OpenAI error `type` and HTTP status for each error this engine produces. */
export const ENGINE_ERRORS = {
  invalid_request: { status: 400, type: 'invalid_request_error' },
  context_length_exceeded: { status: 400, type: 'invalid_request_error' },
  not_found: { status: 404, type: 'invalid_request_error' },
  method_not_allowed: { status: 405, type: 'invalid_request_error' },
  request_too_large: { status: 413, type: 'invalid_request_error' },
  model_loading: { status: 503, type: 'server_error' },
  engine_stopping: { status: 503, type: 'server_error' },
  // The model's chat template failed (not the request's fault): the agent relays it as 502 upstream_error, message included.
  template_error: { status: 500, type: 'server_error' },
  internal: { status: 500, type: 'server_error' },
} as const;
export type EngineErrorCode = keyof typeof ENGINE_ERRORS;

/** The one error type handlers throw; `sendError` renders it in OpenAI's shape. */
export class ApiError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
  get status(): number {
    return ENGINE_ERRORS[this.code].status;
  }
  toBody() {
    return { error: { message: this.message, type: ENGINE_ERRORS[this.code].type, param: this.param, code: this.code } };
  }
}

/** Turns any thrown value into an ApiError; unexpected ones become `internal` (the caller logs them). */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  return new ApiError('internal', 'internal engine error');
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.status, err.toBody());
}
