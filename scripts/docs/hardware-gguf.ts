import { open } from 'node:fs/promises';
import { encodeHeader, GGUF_DEFAULT_ALIGNMENT, type GgufValue, type TensorInfo, type TensorType, tensorBytes } from '../gguf/gguf-format';
import type { Architecture } from './hardware-models';

/**
 * Header-only GGUF files for the hardware guide: the metadata and tensor table llama.cpp would write for a real
 * model at a given quantization, followed by a data section of the right length that is left sparse (a hole on
 * disk, no blocks written). The footprint estimator reads such a file exactly as it reads the real one: the
 * header through node-llama-cpp's parser, the weights as file size minus header.
 */

export const QUANTS = ['Q4_K_M', 'Q5_K_M', 'Q8_0', 'F16'] as const;
export type Quant = (typeof QUANTS)[number];

/** `general.file_type` (llama.cpp's enum llama_ftype). */
const FILE_TYPE: Record<Quant, number> = { F16: 1, Q8_0: 7, Q4_K_M: 15, Q5_K_M: 17 };

/** llama.cpp's `use_more_bits` (src/llama-quant.cpp): the first and last eighth of the layers, and every third between. */
function useMoreBits(i: number, n: number): boolean {
  return i < Math.floor(n / 8) || i >= Math.floor((7 * n) / 8) || (i - Math.floor(n / 8)) % 3 === 2;
}

type Role = 'token_embd' | 'output' | 'attn_v' | 'ffn_down' | 'other';

/**
 * The type llama-quantize gives a 2-D weight (src/llama-quant.cpp, `llama_tensor_get_type_impl`, for dense
 * llama/qwen2 models whose rows are multiples of 256): `_M` mixes keep attn_v and ffn_down at Q6_K on the
 * `use_more_bits` layers, output.weight at Q6_K, and a 70B's remaining attn_v at Q5_K. F16 files come from the
 * converter, not llama-quantize: every matrix F16. Norms and biases stay F32 in every case.
 */
export function tensorType(quant: Quant, role: Role, layer: number, nLayer: number, is70b: boolean): TensorType {
  if (quant === 'F16') return 'f16';
  if (quant === 'Q8_0') return 'q8_0';
  const base: TensorType = quant === 'Q4_K_M' ? 'q4_k' : 'q5_k';
  if (role === 'output') return 'q6_k';
  if (role === 'attn_v') {
    if (useMoreBits(layer, nLayer)) return 'q6_k';
    return is70b && base === 'q4_k' ? 'q5_k' : base;
  }
  if (role === 'ffn_down') return useMoreBits(layer, nLayer) ? 'q6_k' : base;
  return base;
}

interface PlannedTensor {
  name: string;
  dims: number[];
  type: TensorType;
}

/** llama.cpp's tensor table for a dense llama/qwen2 model (ggml order: dims[0] is the row length). */
export function tensorTable(a: Architecture, quant: Quant): PlannedTensor[] {
  const is70b = a.size === '70B';
  const kv = (a.nEmbd / a.nHead) * a.nHeadKv;
  const matrix = (name: string, dims: number[], role: Role, layer = 0): PlannedTensor => ({
    name,
    dims,
    type: tensorType(quant, role, layer, a.nLayer, is70b),
  });
  const vector = (name: string, n: number): PlannedTensor => ({ name, dims: [n], type: 'f32' });
  const out: PlannedTensor[] = [matrix('token_embd.weight', [a.nEmbd, a.nVocab], 'token_embd')];
  if (a.ropeFreqs) out.push(vector('rope_freqs.weight', a.nEmbd / a.nHead / 2));
  for (let l = 0; l < a.nLayer; l++) {
    const p = `blk.${l}.`;
    out.push(vector(`${p}attn_norm.weight`, a.nEmbd), matrix(`${p}attn_q.weight`, [a.nEmbd, a.nEmbd], 'other'));
    out.push(matrix(`${p}attn_k.weight`, [a.nEmbd, kv], 'other'), matrix(`${p}attn_v.weight`, [a.nEmbd, kv], 'attn_v', l));
    if (a.qkvBias) out.push(vector(`${p}attn_q.bias`, a.nEmbd), vector(`${p}attn_k.bias`, kv), vector(`${p}attn_v.bias`, kv));
    out.push(matrix(`${p}attn_output.weight`, [a.nEmbd, a.nEmbd], 'other'), vector(`${p}ffn_norm.weight`, a.nEmbd));
    out.push(matrix(`${p}ffn_gate.weight`, [a.nEmbd, a.nFf], 'other'), matrix(`${p}ffn_up.weight`, [a.nEmbd, a.nFf], 'other'));
    out.push(matrix(`${p}ffn_down.weight`, [a.nFf, a.nEmbd], 'ffn_down', l));
  }
  out.push(vector('output_norm.weight', a.nEmbd), matrix('output.weight', [a.nEmbd, a.nVocab], 'output'));
  return out;
}

const bytesOf = (t: PlannedTensor) =>
  tensorBytes(
    t.type,
    t.dims.reduce((x, y) => x * y, 1),
  );

/** Parameters counted from the tensor table (what a model card calls "8.03B"). */
export function parameterCount(a: Architecture): number {
  return tensorTable(a, 'F16').reduce((sum, t) => sum + t.dims.reduce((x, y) => x * y, 1), 0);
}

/** Writes the header at `path` and extends the file, sparsely, to its full size. Returns that size in bytes. */
export async function writeHeaderOnlyGguf(path: string, a: Architecture, quant: Quant): Promise<number> {
  const alignment = GGUF_DEFAULT_ALIGNMENT;
  const tensors = tensorTable(a, quant);
  let offset = 0;
  const infos: TensorInfo[] = tensors.map((t) => {
    const info: TensorInfo = { name: t.name, dims: t.dims, offset, type: t.type };
    offset = Math.ceil((offset + bytesOf(t)) / alignment) * alignment;
    return info;
  });
  const u32 = (value: number): GgufValue => ({ kind: 'u32', value });
  const f32 = (value: number): GgufValue => ({ kind: 'f32', value });
  const k = (key: string) => `${a.arch}.${key}`;
  const metadata: Array<[string, GgufValue]> = [
    ['general.architecture', { kind: 'string', value: a.arch }],
    ['general.name', { kind: 'string', value: a.name }],
    ['general.file_type', u32(FILE_TYPE[quant])],
    ['general.alignment', u32(alignment)],
    [k('vocab_size'), u32(a.nVocab)],
    [k('context_length'), u32(a.contextLength)],
    [k('embedding_length'), u32(a.nEmbd)],
    [k('block_count'), u32(a.nLayer)],
    [k('feed_forward_length'), u32(a.nFf)],
    [k('attention.head_count'), u32(a.nHead)],
    [k('attention.head_count_kv'), u32(a.nHeadKv)],
    [k('attention.layer_norm_rms_epsilon'), f32(1e-5)],
    [k('rope.dimension_count'), u32(a.nEmbd / a.nHead)],
  ];
  const header = encodeHeader(metadata, infos, alignment);
  const fh = await open(path, 'w');
  try {
    await fh.write(header);
    await fh.truncate(header.length + offset);
  } finally {
    await fh.close();
  }
  return header.length + offset;
}
