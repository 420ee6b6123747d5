/**
 * Published architecture numbers of real models, for the hardware guide (docs/hardware.md). Each comes from the
 * model's `config.json` on Hugging Face (repository named in `source`): `num_hidden_layers`, `hidden_size`,
 * `intermediate_size`, `num_attention_heads`, `num_key_value_heads`, `vocab_size`, `max_position_embeddings`,
 * `tie_word_embeddings`. The guide turns them into GGUF headers with llama.cpp's tensor layout and runs those
 * through the planner's estimator; no weights are involved.
 */
export interface Architecture {
  /** Row label, e.g. "Llama 3.1 8B Instruct". */
  name: string;
  /** The size class the row stands for in "common sizes". */
  size: '7B' | '8B' | '14B' | '32B' | '70B';
  /** Where the numbers come from. */
  source: string;
  /** GGUF `general.architecture` (llama.cpp's converter writes Qwen2.5 as `qwen2`). */
  arch: 'llama' | 'qwen2';
  nLayer: number;
  nEmbd: number;
  nFf: number;
  nHead: number;
  nHeadKv: number;
  nVocab: number;
  /** `max_position_embeddings`: the native context. */
  contextLength: number;
  /** The longest context the model card supports with rope scaling (YaRN for Qwen2.5), if longer than native. */
  scaledContextLength?: number;
  /** Qwen2 has biases on the q/k/v projections; Llama has none. */
  qkvBias: boolean;
  /** Llama 3.1+ GGUFs carry `rope_freqs.weight` (llama3 rope scaling factors), 64 F32 values. */
  ropeFreqs: boolean;
  /** Catalog entries (catalog/models.json ids) that are this architecture. */
  catalogIds: string[];
}

export const ARCHITECTURES: readonly Architecture[] = [
  {
    name: 'Qwen2.5 7B Instruct',
    size: '7B',
    source: 'Qwen/Qwen2.5-7B-Instruct',
    arch: 'qwen2',
    nLayer: 28,
    nEmbd: 3584,
    nFf: 18944,
    nHead: 28,
    nHeadKv: 4,
    nVocab: 152064,
    contextLength: 32768,
    scaledContextLength: 131072,
    qkvBias: true,
    ropeFreqs: false,
    catalogIds: [],
  },
  {
    name: 'Llama 3.1 8B Instruct',
    size: '8B',
    source: 'meta-llama/Llama-3.1-8B-Instruct',
    arch: 'llama',
    nLayer: 32,
    nEmbd: 4096,
    nFf: 14336,
    nHead: 32,
    nHeadKv: 8,
    nVocab: 128256,
    contextLength: 131072,
    qkvBias: false,
    ropeFreqs: true,
    catalogIds: [],
  },
  {
    name: 'Qwen2.5 14B Instruct',
    size: '14B',
    source: 'Qwen/Qwen2.5-14B-Instruct',
    arch: 'qwen2',
    nLayer: 48,
    nEmbd: 5120,
    nFf: 13824,
    nHead: 40,
    nHeadKv: 8,
    nVocab: 152064,
    contextLength: 32768,
    scaledContextLength: 131072,
    qkvBias: true,
    ropeFreqs: false,
    catalogIds: [],
  },
  {
    // Qwen2.5-32B-Instruct has the same numbers.
    name: 'Qwen2.5 Coder 32B Instruct',
    size: '32B',
    source: 'Qwen/Qwen2.5-Coder-32B-Instruct',
    arch: 'qwen2',
    nLayer: 64,
    nEmbd: 5120,
    nFf: 27648,
    nHead: 40,
    nHeadKv: 8,
    nVocab: 152064,
    contextLength: 32768,
    scaledContextLength: 131072,
    qkvBias: true,
    ropeFreqs: false,
    catalogIds: ['qwen2.5-coder-32b'],
  },
  {
    name: 'Llama 3.3 70B Instruct',
    size: '70B',
    source: 'meta-llama/Llama-3.3-70B-Instruct',
    arch: 'llama',
    nLayer: 80,
    nEmbd: 8192,
    nFf: 28672,
    nHead: 64,
    nHeadKv: 8,
    nVocab: 128256,
    contextLength: 131072,
    qkvBias: false,
    ropeFreqs: true,
    catalogIds: [],
  },
];

/** The machines the guide sizes against: NVIDIA cards (VRAM) and Apple Silicon Macs (unified memory). */
export const DEVICES: ReadonlyArray<{ label: string; kind: 'gpu' | 'mac'; gb: number }> = [
  { label: '24 GB GPU', kind: 'gpu', gb: 24 },
  { label: '48 GB GPU', kind: 'gpu', gb: 48 },
  { label: '80 GB GPU', kind: 'gpu', gb: 80 },
  { label: 'Mac 16 GB', kind: 'mac', gb: 16 },
  { label: 'Mac 36 GB', kind: 'mac', gb: 36 },
  { label: 'Mac 64 GB', kind: 'mac', gb: 64 },
  { label: 'Mac 128 GB', kind: 'mac', gb: 128 },
  { label: 'Mac 192 GB', kind: 'mac', gb: 192 },
];

export const CONTEXTS = [8192, 32768, 131072] as const;
