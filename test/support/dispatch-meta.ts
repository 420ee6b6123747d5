import type { DispatchMeta } from '../../src/link/dispatch-meta';

/** A dispatch's metadata as the Worker sends it to a NodeLink, for tests of the link's pure parts. */
export function dispatchMeta(over: Partial<DispatchMeta> = {}): DispatchMeta {
  return {
    id: 'r',
    model: 'm',
    path: '/v1/chat/completions',
    stream: true,
    key: 'k',
    requestId: 'q',
    maxPrompt: 512,
    maxCompletion: 16,
    refusable: true,
    urgent: false,
    ...over,
  };
}
