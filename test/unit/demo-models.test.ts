import { readFile, rm, stat, writeFile, mkdtemp } from 'node:fs/promises';
import { readGgufFileInfo } from 'node-llama-cpp';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureLlamaCppSource, readTemplate } from '../../scripts/llama-cpp/source';
import { CATALOG_PATH, DEMO_MODELS, ensureDemoModels, sha256File, type DemoModelFile } from '../../scripts/make-demo-models';

let dir: string;
let files: DemoModelFile[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'porten-demo-'));
  files = await ensureDemoModels(dir);
}, 120_000); // writes ~150 MB: four family models of 5-27 MB besides demo-large
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ensureDemoModels', () => {
  it('generates the demo models (three byte-vocabulary chat, one embedding, four real-family chat)', () => {
    expect(files.map((f) => f.id)).toEqual([
      'demo-small',
      'demo-plain',
      'demo-large',
      'demo-embed',
      'demo-qwen2.5',
      'demo-llama3.1',
      'demo-mistral',
      'demo-r1',
    ]);
    expect(files.map((f) => f.file)).toEqual(DEMO_MODELS.map((m) => `${m.id}.gguf`));
  });

  it('produces exactly the sha256 and size recorded in catalog/models.json', async () => {
    const catalog = JSON.parse(await readFile(CATALOG_PATH, 'utf8')) as Array<{ id: string; weights: { url: string; sha256: string; bytes: number } }>;
    for (const f of files) {
      const entry = catalog.find((m) => m.id === f.id)!;
      expect(entry.weights.url).toBe(`demo://${f.file}`);
      expect({ sha256: f.sha256, bytes: f.bytes }).toEqual({ sha256: entry.weights.sha256, bytes: entry.weights.bytes });
      expect(await sha256File(f.path)).toBe(f.sha256);
      expect((await stat(f.path)).size).toBe(f.bytes);
    }
  });

  it('makes demo-large at least 64 MiB and the small ones under 1 MiB', () => {
    const by = Object.fromEntries(files.map((f) => [f.id, f.bytes]));
    expect(by['demo-large']).toBeGreaterThanOrEqual(64 * 1024 * 1024);
    expect(by['demo-small']).toBeLessThan(1024 * 1024);
    expect(files[0].sha256).not.toBe(files[1].sha256); // demo-plain: same shape, other seed
  });

  it('leaves matching files untouched on a second call', async () => {
    const before = await Promise.all(files.map((f) => stat(f.path).then((s) => s.mtimeMs)));
    const again = await ensureDemoModels(dir);
    expect(again).toEqual(files);
    expect(await Promise.all(files.map((f) => stat(f.path).then((s) => s.mtimeMs)))).toEqual(before);
  });

  it('regenerates a file whose content no longer matches', async () => {
    const small = files[0];
    const bytes = await readFile(small.path);
    bytes[bytes.length - 1] ^= 0xff; // same size, different digest
    await writeFile(small.path, bytes);
    const again = await ensureDemoModels(dir);
    expect(again[0].sha256).toBe(small.sha256);
    expect(await sha256File(small.path)).toBe(small.sha256);
  });
});

/** What each family demo must carry so the engine sees what it would see with the real model. */
const FAMILIES = [
  {
    id: 'demo-qwen2.5',
    template: 'Qwen-Qwen2.5-7B-Instruct',
    pre: 'qwen2',
    specials: ['<|im_start|>', '<|im_end|>', '<tool_call>', '</tool_call>'],
    eos: '<|im_end|>',
  },
  {
    id: 'demo-llama3.1',
    template: 'meta-llama-Llama-3.1-8B-Instruct',
    pre: 'llama-bpe',
    specials: ['<|begin_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>', '<|eom_id|>', '<|python_tag|>'],
    eos: '<|eot_id|>',
  },
  {
    id: 'demo-mistral',
    template: 'mistralai-Mistral-Nemo-Instruct-2407',
    pre: 'default',
    specials: ['[INST]', '[/INST]', '[TOOL_CALLS]', '[AVAILABLE_TOOLS]', '[/AVAILABLE_TOOLS]', '[TOOL_RESULTS]', '[/TOOL_RESULTS]'],
    eos: '</s>',
  },
  {
    id: 'demo-r1',
    template: 'deepseek-ai-DeepSeek-R1-Distill-Qwen-32B',
    pre: 'qwen2',
    specials: ['<｜begin▁of▁sentence｜>', '<｜end▁of▁sentence｜>', '<｜User｜>', '<｜Assistant｜>', '<think>', '</think>'],
    eos: '<｜end▁of▁sentence｜>',
  },
];

describe('family demo models', () => {
  it.each(FAMILIES)('$id carries its family template, tokenizer, special tokens and a 32k context', async (f) => {
    const file = files.find((x) => x.id === f.id)!;
    const md = (await readGgufFileInfo(file.path, { logWarnings: false })).metadata as any;
    expect(md.tokenizer.chat_template).toBe(readTemplate(ensureLlamaCppSource(), f.template));
    expect(md.tokenizer.ggml.pre).toBe(f.pre);
    expect(md.llama.context_length).toBe(32768);
    const tokens: string[] = md.tokenizer.ggml.tokens;
    for (const s of f.specials) expect(tokens.indexOf(s), s).toBeGreaterThan(0);
    expect(tokens[md.tokenizer.ggml.eos_token_id]).toBe(f.eos);
    const catalog = JSON.parse(await readFile(CATALOG_PATH, 'utf8')) as Array<{ id: string; context_length: number }>;
    expect(catalog.find((m) => m.id === f.id)?.context_length).toBe(32768);
  });
});
