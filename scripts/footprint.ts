import { stat } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { readGgufFileInfo } from 'node-llama-cpp';
import { estimateFootprintMb } from '../src/planner/footprint';
import type { GgufMeta } from '../src/planner/types';
import { resolveUrl } from '../nodes/download/resolve-url';

export interface GgufFootprint {
  meta: GgufMeta;
  contextLength: number;
  engineOverheadMb: number;
  /** What to put in the catalog's `vram_mb`. */
  vramMb: number;
}

/**
 * A model's memory need from its GGUF header, read by node-llama-cpp's parser
 * (from disk, or remotely with range requests, so nothing is downloaded whole):
 * weights + KV cache at `contextLength` + engine overhead, with the planner's
 * own formula. Nodes correct it with what they measure after loading.
 */
export async function ggufFootprint(source: string, contextLength: number, engineOverheadMb = 512): Promise<GgufFootprint> {
  const remote = /^(https?|hf):\/\//.test(source);
  const { url, headers } = remote ? resolveUrl(source, process.env) : { url: source, headers: {} as Record<string, string> };
  const info = await readGgufFileInfo(url, { fetchHeaders: headers });
  const arch = info.architectureMetadata as {
    block_count?: number;
    embedding_length?: number;
    context_length?: number;
    attention?: { head_count?: number; head_count_kv?: number };
  };
  if (!arch.block_count || !arch.embedding_length || !arch.attention?.head_count) {
    throw new Error(`${source}: the GGUF header lacks block_count, embedding_length or attention.head_count`);
  }
  const size = remote ? await remoteSize(url, headers) : (await stat(source)).size;
  const meta: GgufMeta = {
    weightsBytes: Math.max(0, size - Number(info.infoEndOffset ?? 0)),
    nLayer: arch.block_count,
    nEmbd: arch.embedding_length,
    nHead: arch.attention.head_count,
    nHeadKv: arch.attention.head_count_kv ?? arch.attention.head_count,
  };
  return { meta, contextLength, engineOverheadMb, vramMb: estimateFootprintMb(meta, contextLength, engineOverheadMb) };
}

async function remoteSize(url: string, headers: Record<string, string>): Promise<number> {
  const res = await fetch(url, { method: 'HEAD', headers, redirect: 'follow' });
  const length = Number(res.headers.get('content-length'));
  if (!res.ok || !Number.isFinite(length)) throw new Error(`${url}: HEAD answered ${res.status} without a size`);
  return length;
}

// CLI: npm run footprint -- <file|http(s)://…|hf://org/repo/file.gguf> [--ctx N] [--overhead-mb N]
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const flag = (name: string, fallback: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  const source = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
  if (!source) {
    console.error('usage: npm run footprint -- <file|url|hf://org/repo/file.gguf> [--ctx 8192] [--overhead-mb 512]');
    process.exit(2);
  }
  ggufFootprint(source, flag('--ctx', 8192), flag('--overhead-mb', 512)).then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (err: Error) => {
      console.error(`footprint: ${err.message}`);
      process.exit(1);
    },
  );
}
