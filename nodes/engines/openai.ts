import { upstreamBase } from './args';
import type { EngineSpec } from './supervisor';

/**
 * Fronts an OpenAI-compatible server that runs elsewhere (vLLM, llama-server,
 * exo): no process, "ready" means `GET /v1/models` answers 200.
 */
export function openaiSpec(upstreamUrl: string): EngineSpec {
  const base = upstreamBase(upstreamUrl);
  return {
    baseUrl: () => base,
    probe: async (b, signal) => {
      const res = await fetch(`${b}/v1/models`, { signal });
      await res.arrayBuffer();
      return res.status === 200 ? { ready: true } : { ready: false, detail: `upstream /v1/models ${res.status}` };
    },
  };
}
