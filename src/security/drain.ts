import type { MiddlewareHandler } from 'hono';

/**
 * How much of an unread request body the edge reads (and discards) before it
 * answers, so the client's kept-alive connection stays usable. On workerd, an
 * answer sent before the body was read leaves the connection broken for the
 * client's next request (ECONNRESET). Past this bound the rest is cancelled:
 * the client gets its answer, and loses only that connection.
 */
export const DRAIN_LIMIT_BYTES = 16 * 1024 * 1024;

/** Reads `reader` to its end, or until `limit` more bytes were read, then cancels. Never throws. */
export async function drainReader(reader: ReadableStreamDefaultReader<Uint8Array>, limit = DRAIN_LIMIT_BYTES): Promise<void> {
  try {
    let seen = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      seen += value.byteLength;
      if (seen > limit) {
        await reader.cancel();
        return;
      }
    }
  } catch {
    // The client went away: nothing left to keep alive.
  }
}

/**
 * Every early answer (401 for a wrong key, 404, 405, 413, …) first drains the
 * request body nobody read. Outermost middleware, so it also sees responses
 * rendered by the error handler.
 */
export const drainUnreadBody: MiddlewareHandler = async (c, next) => {
  await next();
  const body = c.req.raw.body;
  if (!body || c.req.raw.bodyUsed) return;
  const declared = Number(c.req.header('content-length') ?? 0);
  // A body declared far past the bound is not read at all: that connection is not worth a large read.
  if (declared > DRAIN_LIMIT_BYTES) return;
  await drainReader(body.getReader());
};
