import { readGgufFileInfo } from 'node-llama-cpp';
import * as z from 'zod';
import type { GgufValue } from './gguf-format';
import { CLASS_BIAS, type TokenizerSpec } from './tokenizer';

/** llama.cpp's token types (`enum llama_token_type`). */
export const TokenType = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/** The tokenizer keys a vocabulary-only GGUF from the llama.cpp tree carries. */
const VocabSchema = z.object({
  model: z.enum(['gpt2', 'llama']),
  pre: z.string().optional(),
  tokens: z.array(z.string()),
  token_type: z.array(z.number().int()),
  merges: z.array(z.string()).optional(),
  scores: z.array(z.number()).optional(),
});

export interface FamilyTokens {
  /** Replace (id < vocab size) or append (id = next id) tokens: the family's own special tokens. */
  set?: ReadonlyArray<{ id: number; text: string; type: number }>;
  bos: number;
  eos: number;
  unk?: number;
  padding?: number;
  addBos: boolean;
  /** Extra output bias per id (beyond the printable class), e.g. `</think>` so the demo closes its thoughts. */
  favour?: ReadonlyArray<{ id: number; bias: number }>;
  /** Bias of the end-of-generation token, chosen so random text ends after a few dozen tokens. */
  eosBias: number;
}

// Printable ASCII in each tokenizer's surface form: GPT-2 byte-level BPE maps space to 'Ġ' and
// keeps '!'..'~'; SentencePiece marks spaces with '▁'.
const PRINTABLE = { gpt2: /^[\u0021-\u007e\u0120]+$/, llama: /^[\u0021-\u007e\u2581]+$/ };

/**
 * A real family's tokenizer for a demo model: the vocabulary (tokens, types,
 * merges or scores, pre-tokenizer) of a vocabulary-only GGUF from the llama.cpp
 * tree, with the family's special tokens set at their real ids, its special
 * token ids, and its chat template. Deterministic: depends only on the inputs.
 */
export async function familyTokenizer(vocabFile: string, tokens: FamilyTokens, chatTemplate: string): Promise<TokenizerSpec> {
  const info = await readGgufFileInfo(vocabFile, { logWarnings: false });
  const parsed = VocabSchema.safeParse((info.metadata as { tokenizer?: { ggml?: unknown } }).tokenizer?.ggml);
  if (!parsed.success) throw new Error(`${vocabFile}: not a vocabulary GGUF (${parsed.error.issues[0]?.message})`);
  const v = parsed.data;
  const texts = [...v.tokens];
  const types = [...v.token_type];
  const scores = v.scores ? [...v.scores] : undefined;
  for (const t of tokens.set ?? []) {
    if (t.id > texts.length) throw new Error(`token ${t.text}: id ${t.id} leaves a gap after ${texts.length - 1}`);
    texts[t.id] = t.text;
    types[t.id] = t.type;
    if (scores) scores[t.id] = 0;
  }
  const printable = PRINTABLE[v.model];
  const favour = new Map((tokens.favour ?? []).map((f) => [f.id, f.bias]));
  favour.set(tokens.eos, tokens.eosBias);
  const bias = texts.map((text, id) => favour.get(id) ?? (types[id] === TokenType.normal && printable.test(text) ? CLASS_BIAS : -CLASS_BIAS));

  const u32 = (value: number): GgufValue => ({ kind: 'u32', value });
  const metadata: Array<[string, GgufValue]> = [
    ['tokenizer.ggml.model', { kind: 'string', value: v.model }],
    ...(v.pre ? ([['tokenizer.ggml.pre', { kind: 'string', value: v.pre }]] as Array<[string, GgufValue]>) : []),
    ['tokenizer.ggml.tokens', { kind: 'array', of: 'string', values: texts }],
    ['tokenizer.ggml.token_type', { kind: 'array', of: 'i32', values: types }],
  ];
  if (v.merges) metadata.push(['tokenizer.ggml.merges', { kind: 'array', of: 'string', values: v.merges }]);
  if (scores) metadata.push(['tokenizer.ggml.scores', { kind: 'array', of: 'f32', values: scores }]);
  metadata.push(['tokenizer.ggml.bos_token_id', u32(tokens.bos)], ['tokenizer.ggml.eos_token_id', u32(tokens.eos)]);
  if (tokens.unk !== undefined) metadata.push(['tokenizer.ggml.unknown_token_id', u32(tokens.unk)]);
  if (tokens.padding !== undefined) metadata.push(['tokenizer.ggml.padding_token_id', u32(tokens.padding)]);
  metadata.push(
    ['tokenizer.ggml.add_bos_token', { kind: 'bool', value: tokens.addBos }],
    ['tokenizer.ggml.add_eos_token', { kind: 'bool', value: false }],
    ['tokenizer.chat_template', { kind: 'string', value: chatTemplate }],
  );
  return { nVocab: texts.length, metadata, bias: (id) => bias[id], matrixType: 'q8_0' };
}
