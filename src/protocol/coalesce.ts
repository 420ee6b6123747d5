/**
 * Wraps an async job so concurrent calls never overlap: a call made while a run
 * is in progress joins it and asks for one more run after it, so the last
 * request is always served by a run that started after it. Shared by the edge and the node agent (which builds from src/protocol only): planner
 * runs in the Hub and sidecar saves in the downloader.
 */
export function coalesced(job: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  let again = false;
  return () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await job();
      } while (again);
    })().finally(() => {
      running = null;
    });
    return running;
  };
}
