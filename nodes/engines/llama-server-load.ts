import type { RelayNormaliser } from '../agent/relay';
import type { RpcPlacement } from './llama-server-args';
import { type LlamaServerOptions, type LlamaServerSpec, llamaServerSpec } from './llama-server';
import { normaliseRequest, ResponseNormaliser } from './llama-server-normalise';

export interface LlamaServerLoad {
  spec: LlamaServerSpec;
  /** The relay's adapter for this model: reads the template's capabilities once the server is ready. */
  normaliser: RelayNormaliser;
}

/**
 * What the agent needs from a GGUF header: whether it is an embedding model
 * (a pooling type, which llama-server must be told with `--embeddings`) and its
 * layer count (a combined node splits layers). Read with node-llama-cpp's GGUF
 * parser; a header that cannot be read gives neither (the load then says what
 * is wrong with the file).
 */
export async function ggufFacts(modelPath: string): Promise<{ embeddings: boolean; nLayers?: number }> {
  try {
    const { readGgufFileInfo } = await import('node-llama-cpp');
    const info = await readGgufFileInfo(modelPath, { readTensorInfo: false });
    const arch = info.architectureMetadata as { pooling_type?: unknown; block_count?: unknown };
    // 0 = none, -1 = unspecified; mean/cls/last/rank make an embedding model.
    const embeddings = typeof arch.pooling_type === 'number' && arch.pooling_type > 0;
    return { embeddings, nLayers: typeof arch.block_count === 'number' ? arch.block_count : undefined };
  } catch {
    return { embeddings: false };
  }
}

/** What a load says about the model and the machine; the rest of llama-server's options follow from the GGUF (see below). */
export type LlamaServerLoadInput = Pick<LlamaServerOptions, 'binary' | 'modelPath' | 'model' | 'contextLength' | 'threads' | 'parallel'> & {
  /** A combined node: where the layers go, given the model's layer count. */
  place?: (nLayers?: number) => RpcPlacement & { gpuLayers: number };
};

/** The spec and relay adapter for one model on llama-server. */
export async function llamaServerLoad(i: LlamaServerLoadInput): Promise<LlamaServerLoad> {
  const { embeddings, nLayers } = await ggufFacts(i.modelPath);
  const { place, ...rest } = i;
  const placement = place?.(nLayers);
  const spec = llamaServerSpec({
    ...rest,
    embeddings,
    rpc: placement && { endpoints: placement.endpoints, split: placement.split },
    gpuLayers: placement?.gpuLayers,
  });
  const ctx = () => ({ model: i.model, caps: spec.runtime.caps });
  return {
    spec,
    normaliser: {
      request(path, body) {
        const r = normaliseRequest(path, body, ctx());
        return r.ok ? r : { ok: false, status: r.error.status, text: JSON.stringify(r.error.body) };
      },
      response: (path) => new ResponseNormaliser(path, ctx()),
    },
  };
}
