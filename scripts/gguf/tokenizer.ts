import type { GgufValue, WritableType } from './gguf-format';
import { BOS_ID, buildByteVocab, EOS_ID, UNK_ID } from './byte-vocab';

/** What a demo model needs from its tokenizer: the GGUF keys to write and how much the weights favour each token. */
export interface TokenizerSpec {
  nVocab: number;
  /** `tokenizer.*` metadata in write order (key order is part of the file's bytes). */
  metadata: ReadonlyArray<[string, GgufValue]>;
  /** Output-layer bias of a token id (see llama-model.ts): printable text up, raw bytes and control tokens down. */
  bias(id: number): number;
  /** Storage of the vocabulary-sized matrices; undefined keeps F32 (and the original demo files' bytes). */
  matrixType?: WritableType;
}

/** Bias levels shared by every demo vocabulary. */
export const CLASS_BIAS = 1;
/** The SPM space marker gets extra weight so byte-vocab text has words. */
const SPACE_BIAS = CLASS_BIAS + 2;

/** The byte-level SPM vocabulary of the original demo models (no chat template). */
export function byteTokenizer(): TokenizerSpec {
  const vocab = buildByteVocab();
  const printable = new Set(vocab.printable);
  const u32 = (value: number): GgufValue => ({ kind: 'u32', value });
  return {
    nVocab: vocab.tokens.length,
    // Printable pieces and end-of-text up, raw bytes down, the space marker most.
    bias: (id) => (id === vocab.printable[0] ? SPACE_BIAS : printable.has(id) || id === EOS_ID ? CLASS_BIAS : -CLASS_BIAS),
    metadata: [
      ['tokenizer.ggml.model', { kind: 'string', value: 'llama' }],
      ['tokenizer.ggml.tokens', { kind: 'array', of: 'string', values: vocab.tokens }],
      ['tokenizer.ggml.scores', { kind: 'array', of: 'f32', values: vocab.scores }],
      ['tokenizer.ggml.token_type', { kind: 'array', of: 'i32', values: vocab.types }],
      ['tokenizer.ggml.bos_token_id', u32(BOS_ID)],
      ['tokenizer.ggml.eos_token_id', u32(EOS_ID)],
      ['tokenizer.ggml.unknown_token_id', u32(UNK_ID)],
      ['tokenizer.ggml.add_bos_token', { kind: 'bool', value: true }],
      ['tokenizer.ggml.add_eos_token', { kind: 'bool', value: false }],
    ],
  };
}
