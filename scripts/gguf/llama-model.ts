import * as z from 'zod';
import type { GgufValue } from './gguf-format';
import type { GgufSpec, TensorSource } from './gguf-writer';
import { byteTokenizer, type TokenizerSpec } from './tokenizer';
import { fillUniform, fnv1a, mulberry32 } from './prng';

export const LlamaShapeSchema = z.object({
  name: z.string().min(1),
  seed: z.number().int().nonnegative(),
  nEmbd: z.number().int().positive(),
  nLayers: z.number().int().positive(),
  nHead: z.number().int().positive(),
  nHeadKv: z.number().int().positive(),
  nFf: z.number().int().positive(),
  contextLength: z.number().int().positive(),
  /** Written as `llama.pooling_type` only when set, so the chat models' bytes stay as the catalog pins them. */
  poolingType: z.enum(['mean', 'cls', 'last']).optional(),
});
export type LlamaShape = z.infer<typeof LlamaShapeSchema>;

const CHUNK = 1 << 18; // values per chunk: 1 MiB of F32, small enough to stay in cache-friendly territory
/** Residual-stream dimension held constant so the output layer can bias whole token classes (see below). */
const BIAS_DIM = 0;
const BIAS_LEVEL = 4;

type Fix = (chunk: Float32Array, start: number) => void;

function tensor(name: string, dims: number[], seed: number, scale: number, fix?: Fix): TensorSource {
  return {
    name,
    dims,
    *chunks() {
      const next = mulberry32(seed ^ fnv1a(name));
      const total = dims.reduce((a, b) => a * b, 1);
      const buf = new Float32Array(Math.min(CHUNK, total));
      for (let start = 0; start < total; start += buf.length) {
        const out = total - start < buf.length ? buf.subarray(0, total - start) : buf;
        if (scale === 0)
          out.fill(1); // norm weights: identity
        else fillUniform(next, out, scale);
        fix?.(out, start);
        yield out;
      }
    },
  };
}

/** Zeroes output row BIAS_DIM of a [nIn, nOut] projection so layers never disturb the constant dimension. */
const zeroBiasRow =
  (nIn: number): Fix =>
  (chunk, start) => {
    for (let i = Math.max(start, BIAS_DIM * nIn); i < Math.min(start + chunk.length, (BIAS_DIM + 1) * nIn); i++) chunk[i - start] = 0;
  };

/**
 * A llama-architecture model with random (seeded) weights and the given tokenizer
 * (default: the byte-level SPM vocabulary of byte-vocab.ts).
 *
 * The weights are noise, but shaped so the demo output is mostly printable text:
 * every token embedding carries a constant in dimension BIAS_DIM, no layer writes
 * to that dimension, and the output matrix reads it as a per-token bias
 * (`tokenizer.bias`). Raw bytes stay possible, which keeps invalid-UTF-8 handling
 * exercised downstream. Embedding and output matrices are stored as `tokenizer.matrixType`.
 */
export function buildLlamaSpec(shape: LlamaShape, tokenizer: TokenizerSpec = byteTokenizer()): GgufSpec {
  const s = LlamaShapeSchema.parse(shape);
  const nVocab = tokenizer.nVocab;
  const headDim = s.nEmbd / s.nHead;
  if (!Number.isInteger(headDim)) throw new Error('nEmbd must be a multiple of nHead');
  const nEmbdKv = headDim * s.nHeadKv;
  const u = (nIn: number) => Math.sqrt(3 / nIn); // uniform bound giving variance 1/nIn
  const matrixType = tokenizer.matrixType;

  const tensors: TensorSource[] = [
    {
      ...tensor('token_embd.weight', [s.nEmbd, nVocab], s.seed, 1, (c, start) => {
        for (let i = 0; i < c.length; i++) if ((start + i) % s.nEmbd === BIAS_DIM) c[i] = BIAS_LEVEL;
      }),
      ...(matrixType ? { type: matrixType } : {}),
    },
  ];
  for (let l = 0; l < s.nLayers; l++) {
    const p = `blk.${l}.`;
    tensors.push(
      tensor(`${p}attn_norm.weight`, [s.nEmbd], s.seed, 0),
      tensor(`${p}attn_q.weight`, [s.nEmbd, s.nEmbd], s.seed, u(s.nEmbd)),
      tensor(`${p}attn_k.weight`, [s.nEmbd, nEmbdKv], s.seed, u(s.nEmbd)),
      tensor(`${p}attn_v.weight`, [s.nEmbd, nEmbdKv], s.seed, u(s.nEmbd)),
      tensor(`${p}attn_output.weight`, [s.nEmbd, s.nEmbd], s.seed, u(s.nEmbd), zeroBiasRow(s.nEmbd)),
      tensor(`${p}ffn_norm.weight`, [s.nEmbd], s.seed, 0),
      tensor(`${p}ffn_gate.weight`, [s.nEmbd, s.nFf], s.seed, u(s.nEmbd)),
      tensor(`${p}ffn_down.weight`, [s.nFf, s.nEmbd], s.seed, u(s.nFf), zeroBiasRow(s.nFf)),
      tensor(`${p}ffn_up.weight`, [s.nEmbd, s.nFf], s.seed, u(s.nEmbd)),
    );
  }
  tensors.push(tensor('output_norm.weight', [s.nEmbd], s.seed, 0), {
    ...tensor('output.weight', [s.nEmbd, nVocab], s.seed, 2 * u(s.nEmbd), (c, start) => {
      for (let i = 0; i < c.length; i++) {
        const idx = start + i;
        if (idx % s.nEmbd === BIAS_DIM) c[i] = tokenizer.bias(Math.floor(idx / s.nEmbd));
      }
    }),
    ...(matrixType ? { type: matrixType } : {}),
  });

  const u32 = (value: number): GgufValue => ({ kind: 'u32', value });
  const metadata: Array<[string, GgufValue]> = [
    ['general.architecture', { kind: 'string', value: 'llama' }],
    ['general.name', { kind: 'string', value: s.name }],
    ['general.alignment', u32(32)],
    ['general.file_type', u32(matrixType === 'q8_0' ? 7 : 0)], // ALL_F32, or MOSTLY_Q8_0
    ['llama.vocab_size', u32(nVocab)],
    ['llama.context_length', u32(s.contextLength)],
    ['llama.embedding_length', u32(s.nEmbd)],
    ['llama.block_count', u32(s.nLayers)],
    ['llama.feed_forward_length', u32(s.nFf)],
    ['llama.attention.head_count', u32(s.nHead)],
    ['llama.attention.head_count_kv', u32(s.nHeadKv)],
    ['llama.attention.layer_norm_rms_epsilon', { kind: 'f32', value: 1e-5 }],
    ['llama.rope.dimension_count', u32(headDim)],
    ['llama.rope.freq_base', { kind: 'f32', value: 10000 }],
    ...tokenizer.metadata,
  ];
  // llama.cpp's enum llama_pooling_type.
  if (s.poolingType) metadata.push(['llama.pooling_type', u32({ mean: 1, cls: 2, last: 3 }[s.poolingType])]);
  return { metadata, tensors, alignment: 32 };
}
