import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Engine } from './engine';
import { ApiError, sendError, sendJson } from './errors';
import { handleEmbeddings } from './embeddings';
import { handleChat, handleCompletion } from './handlers';
import { readJsonBody } from './read-body';

/** What the router needs to know; `engine` is undefined while the model loads. */
export interface ServerState {
  name: string;
  engine?: Engine;
  stopping: AbortSignal;
  log: (line: string) => void;
  /** Requests being handled; shutdown waits (briefly) for them to write their final bytes. */
  inflight: number;
}

type Route = (state: ServerState, req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

function requireEngine(state: ServerState): Engine {
  if (!state.engine) throw new ApiError('model_loading', 'the model is still loading');
  return state.engine;
}

const routes: Record<string, Partial<Record<string, Route>>> = {
  '/health': {
    GET: (s, _req, res) => {
      if (!s.engine) return sendJson(res, 503, { status: 'loading' });
      const { pool, vramMb } = s.engine;
      // Slot counts let the agent (and tests) see in-flight load without a separate metrics endpoint.
      sendJson(res, 200, { status: 'ok', model: s.name, vram_mb: vramMb, slots_total: pool.size, slots_free: pool.available, queued: pool.waiting });
    },
  },
  '/v1/models': {
    GET: (s, _req, res) =>
      sendJson(res, 200, {
        object: 'list',
        data: [{ id: s.name, object: 'model', created: 0, owned_by: 'porten', context_length: s.engine?.contextSize }],
      }),
  },
  '/v1/chat/completions': {
    POST: async (s, req, res) => {
      const engine = requireEngine(s);
      await handleChat({ engine, stopping: s.stopping, log: s.log }, req, res, await readJsonBody(req));
    },
  },
  '/v1/embeddings': {
    POST: async (s, req, res) => handleEmbeddings(requireEngine(s), res, await readJsonBody(req)),
  },
  '/v1/completions': {
    POST: async (s, req, res) => {
      const engine = requireEngine(s);
      await handleCompletion({ engine, stopping: s.stopping, log: s.log }, req, res, await readJsonBody(req));
    },
  },
};

/**
 * The request listener. Never throws: an ApiError becomes its OpenAI error response,
 * anything else is logged and becomes a 500 (or a dropped connection when the
 * response had already started).
 */
export function createRouter(state: ServerState) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    const methods = routes[path];
    const route = methods?.[req.method ?? 'GET'];
    state.inflight++;
    res.once('close', () => state.inflight--);
    void (async () => {
      if (!methods) throw new ApiError('not_found', `no route for ${req.method} ${path}`);
      if (!route) throw new ApiError('method_not_allowed', `${req.method} is not allowed on ${path}`);
      await route(state, req, res);
    })().catch((err: unknown) => {
      if (!(err instanceof ApiError)) state.log(`unexpected error on ${req.method} ${path}: ${err instanceof Error ? err.stack : String(err)}`);
      if (res.headersSent) return void res.destroy();
      // Drain what the client is still sending so the error reaches it rather than a reset.
      req.resume();
      sendError(res, err instanceof ApiError ? err : new ApiError('internal', 'internal engine error'));
    });
  };
}
