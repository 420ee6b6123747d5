/**
 * `body` unchanged, with `end` called once when the client has read its last byte or gone away (cancelled),
 * or when the node's side fails. A pull source: chunks are read only as fast as the client takes them, so
 * backpressure reaches the node link exactly as with the plain body. Used only where the end matters (keys with
 * a concurrency limit count a stream until it ends); other bodies pass through natively.
 */
export function onBodyEnd(body: ReadableStream<Uint8Array>, end: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          end();
          controller.close();
        } else controller.enqueue(value);
      } catch (err) {
        end();
        controller.error(err);
      }
    },
    cancel(reason) {
      end();
      return reader.cancel(reason);
    },
  });
}

/** `fn` callable many times, run once. */
export function once(fn: () => void): () => void {
  let ran = false;
  return () => {
    if (ran) return;
    ran = true;
    fn();
  };
}
