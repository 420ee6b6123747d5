import { TokenType, type FamilyTokens } from './family-tokenizer';

/**
 * Demo models that carry what real ones carry: a real family's tokenizer (a
 * vocabulary-only GGUF from the llama.cpp tree node-llama-cpp ships), the
 * family's special tokens at their real ids, and its real chat template
 * (`models/templates/<template>.jinja`). Weights stay random.
 */
export interface FamilyDemo {
  id: string;
  /** `models/ggml-vocab-<vocab>.gguf` in the llama.cpp tree. */
  vocab: string;
  /** `models/templates/<template>.jinja` in the llama.cpp tree. */
  template: string;
  tokens: FamilyTokens;
  seed: number;
}

const { control, userDefined } = TokenType;
const ids = (first: number, texts: string[], type: number) => texts.map((text, i) => ({ id: first + i, text, type }));

// Qwen2.5's added tokens (tokenizer_config.json of Qwen/Qwen2.5-7B-Instruct): the vocabulary GGUF has
// placeholders from 151646 on. Tokens Qwen marks `special: false` become user-defined, as convert_hf_to_gguf does.
const QWEN_ADDED = [
  ...ids(151646, ['<|object_ref_start|>', '<|object_ref_end|>', '<|box_start|>', '<|box_end|>', '<|quad_start|>', '<|quad_end|>'], control),
  ...ids(151652, ['<|vision_start|>', '<|vision_end|>', '<|vision_pad|>', '<|image_pad|>', '<|video_pad|>'], control),
  ...ids(
    151657,
    ['<tool_call>', '</tool_call>', '<|fim_prefix|>', '<|fim_middle|>', '<|fim_suffix|>', '<|fim_pad|>', '<|repo_name|>', '<|file_sep|>'],
    userDefined,
  ),
];

// DeepSeek-R1-Distill-Qwen re-purposes Qwen's first added ids (tokenizer_config.json of
// deepseek-ai/DeepSeek-R1-Distill-Qwen-7B); its tool-call markers are plain text, as in the real tokenizer.
const R1_ADDED = [
  { id: 151643, text: '<｜end▁of▁sentence｜>', type: control },
  ...ids(151644, ['<｜User｜>', '<｜Assistant｜>'], userDefined),
  { id: 151646, text: '<｜begin▁of▁sentence｜>', type: control },
  ...ids(151647, ['<|EOT|>', '<think>', '</think>'], userDefined),
  ...ids(151650, ['<|quad_start|>', '<|quad_end|>', '<|vision_start|>', '<|vision_end|>', '<|vision_pad|>', '<|image_pad|>', '<|video_pad|>'], control),
  ...ids(
    151657,
    ['<tool_call>', '</tool_call>', '<|fim_prefix|>', '<|fim_middle|>', '<|fim_suffix|>', '<|fim_pad|>', '<|repo_name|>', '<|file_sep|>'],
    userDefined,
  ),
];

/** Llama 3.1 names three of Llama 3's reserved tokens and renumbers the rest. */
function llama31Specials(): FamilyTokens['set'] {
  const named = new Map([
    [128000, '<|begin_of_text|>'],
    [128001, '<|end_of_text|>'],
    [128004, '<|finetune_right_pad_id|>'],
    [128006, '<|start_header_id|>'],
    [128007, '<|end_header_id|>'],
    [128008, '<|eom_id|>'],
    [128009, '<|eot_id|>'],
    [128010, '<|python_tag|>'],
  ]);
  let reserved = 0;
  return Array.from({ length: 256 }, (_, i) => 128000 + i).map((id) => ({
    id,
    text: named.get(id) ?? `<|reserved_special_token_${reserved++}|>`,
    type: control,
  }));
}

// Mistral 7B Instruct v0.3 extended its SentencePiece vocabulary with control tokens for tools;
// the llama SPM vocabulary lacks them, so they are appended after its 32000 pieces.
const MISTRAL_CONTROLS = ids(
  32000,
  ['[INST]', '[/INST]', '[TOOL_CALLS]', '[AVAILABLE_TOOLS]', '[/AVAILABLE_TOOLS]', '[TOOL_RESULTS]', '[/TOOL_RESULTS]'],
  control,
);

// End-of-generation biases: measured so random text ends after roughly 50-150 tokens on each vocabulary.
export const FAMILY_DEMOS: readonly FamilyDemo[] = [
  {
    id: 'demo-qwen2.5',
    vocab: 'qwen2',
    template: 'Qwen-Qwen2.5-7B-Instruct',
    seed: 11,
    tokens: { set: QWEN_ADDED, bos: 151643, eos: 151645, padding: 151643, addBos: false, eosBias: 3 },
  },
  {
    id: 'demo-llama3.1',
    vocab: 'llama-bpe',
    template: 'meta-llama-Llama-3.1-8B-Instruct',
    seed: 12,
    tokens: { set: llama31Specials(), bos: 128000, eos: 128009, addBos: true, eosBias: 2 },
  },
  {
    id: 'demo-mistral',
    vocab: 'llama-spm',
    template: 'mistralai-Mistral-Nemo-Instruct-2407',
    seed: 13,
    tokens: { set: MISTRAL_CONTROLS, bos: 1, eos: 2, unk: 0, addBos: true, eosBias: 3 },
  },
  {
    id: 'demo-r1',
    vocab: 'qwen2',
    template: 'deepseek-ai-DeepSeek-R1-Distill-Qwen-32B',
    seed: 14,
    tokens: { set: R1_ADDED, bos: 151646, eos: 151643, padding: 151643, addBos: true, eosBias: 3, favour: [{ id: 151649, bias: 3 }] },
  },
];
