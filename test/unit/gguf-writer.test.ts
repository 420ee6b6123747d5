import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildByteVocab, TOKEN_TYPE } from '../../scripts/gguf/byte-vocab';
import { encodeHeader } from '../../scripts/gguf/gguf-format';
import { layoutTensors, writeGguf } from '../../scripts/gguf/gguf-writer';
import { buildLlamaSpec, type LlamaShape } from '../../scripts/gguf/llama-model';
import { mulberry32 } from '../../scripts/gguf/prng';
import { quantizeQ8_0, toHalfBits } from '../../scripts/gguf/quantize';

const shape: LlamaShape = { name: 'unit-tiny', seed: 7, nEmbd: 32, nLayers: 2, nHead: 4, nHeadKv: 2, nFf: 64, contextLength: 256 };
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'porten-gguf-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mulberry32', () => {
  it('produces a fixed sequence for a seed (the basis of reproducible sha256s)', () => {
    const next = mulberry32(1);
    // Values of the reference mulberry32 (bryc), so any port of the generator can be checked against it.
    expect([next(), next(), next()]).toEqual([2693262067, 11749833, 2265367787]);
  });
});

describe('writeGguf', () => {
  it('writes identical bytes for the same spec, and reports their real sha256 and size', async () => {
    const a = await writeGguf(join(dir, 'a.gguf'), buildLlamaSpec(shape));
    const b = await writeGguf(join(dir, 'b.gguf'), buildLlamaSpec(shape));
    expect(a.sha256).toBe(b.sha256);
    expect(a.bytes).toBe(b.bytes);
    const bytes = await readFile(a.path);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(a.sha256);
    expect((await stat(a.path)).size).toBe(a.bytes);
  });

  it('changes the weights when the seed changes', async () => {
    const a = await writeGguf(join(dir, 's1.gguf'), buildLlamaSpec(shape));
    const b = await writeGguf(join(dir, 's2.gguf'), buildLlamaSpec({ ...shape, seed: 8 }));
    expect(a.bytes).toBe(b.bytes);
    expect(a.sha256).not.toBe(b.sha256);
  });

  it('is read back by node-llama-cpp as a llama GGUF v3 with the metadata llama.cpp needs', async () => {
    const w = await writeGguf(join(dir, 'r.gguf'), buildLlamaSpec(shape));
    const info = await readGgufFileInfo(w.path, { readTensorInfo: true, logWarnings: false });
    expect(info.version).toBe(3);
    const md = info.metadata as any;
    expect(md.general).toMatchObject({ architecture: 'llama', name: 'unit-tiny', alignment: 32, file_type: 0 });
    expect(md.llama).toMatchObject({
      context_length: 256,
      embedding_length: 32,
      block_count: 2,
      feed_forward_length: 64,
      attention: { head_count: 4, head_count_kv: 2 },
      rope: { dimension_count: 8 },
    });
    expect(md.llama.attention.layer_norm_rms_epsilon).toBeCloseTo(1e-5);
    const vocab = buildByteVocab();
    expect(md.tokenizer.ggml).toMatchObject({ model: 'llama', bos_token_id: 1, eos_token_id: 2, tokens: vocab.tokens });
    expect(md.tokenizer.ggml.tokens.slice(0, 4)).toEqual(['<unk>', '<s>', '</s>', '<0x00>']);
    expect(md.tokenizer.ggml.tokens[3 + 255]).toBe('<0xFF>');
    expect(md.tokenizer.ggml.token_type[3 + 0x41]).toBe(TOKEN_TYPE.byte);
    expect(md.tokenizer.ggml.scores).toHaveLength(vocab.tokens.length);

    const tensors = info.tensorInfo!;
    expect(tensors).toHaveLength(2 + 9 * shape.nLayers + 1);
    expect(tensors.find((t) => t.name === 'blk.1.attn_k.weight')?.dimensions).toEqual([32, 16]); // kv heads 2 × head dim 8
    expect(tensors.find((t) => t.name === 'token_embd.weight')?.dimensions).toEqual([32, vocab.tokens.length]);
    for (const t of tensors) {
      expect(t.ggmlType).toBe(0);
      expect(Number(t.offset) % 32).toBe(0);
      expect(Number(t.fileOffset) % 32).toBe(0);
    }
    // The data section ends exactly at the end of the file.
    const last = tensors.at(-1)!;
    const lastBytes = (last.dimensions as number[]).reduce((x, y) => x * y, 1) * 4;
    expect(Number(last.fileOffset) + lastBytes).toBe(w.bytes);
  });

  it('lays tensors out on alignment boundaries', () => {
    const src = (name: string, n: number) => ({ name, dims: [n], chunks: () => [new Float32Array(n)] });
    const { infos, dataBytes } = layoutTensors([src('a', 3), src('b', 8), src('c', 1)], 32);
    expect(infos.map((i) => i.offset)).toEqual([0, 32, 64]);
    expect(dataBytes).toBe(96);
    expect(encodeHeader([], infos, 32).length % 32).toBe(0);
  });

  it('leaves neither the file nor a partial file behind when a tensor is short', async () => {
    const bad = { metadata: [], tensors: [{ name: 'x', dims: [4], chunks: () => [new Float32Array(3)] }] };
    await expect(writeGguf(join(dir, 'bad.gguf'), bad)).rejects.toThrow(/produced 3 values, expected 4/);
    expect((await readdir(dir)).filter((f) => f.startsWith('bad.gguf'))).toEqual([]);
  });
});

// Node 24 has Float16Array; TypeScript's lib does not declare it yet.
const Float16Array = (globalThis as unknown as { Float16Array: new (n: number) => { [i: number]: number; buffer: ArrayBuffer } }).Float16Array;

describe('Q8_0', () => {
  const half = (bits: number) => {
    const f16 = new Float16Array(1);
    new Uint16Array(f16.buffer)[0] = bits;
    return f16[0];
  };

  it('rounds float32 to half precision to nearest even, like F16C', () => {
    const next = mulberry32(3);
    const f16 = new Float16Array(1);
    const bits = new Uint16Array(f16.buffer);
    for (let i = 0; i < 20_000; i++) {
      const x = Math.fround((next() / 2 ** 32 - 0.5) * 2 ** ((next() % 40) - 25));
      f16[0] = x; // a float32 value converts to half exactly once, so this is the reference
      expect(toHalfBits(x)).toBe(bits[0]);
    }
    expect(toHalfBits(65520)).toBe(0x7c00); // rounds up past the largest half: infinity
  });

  it('stores each block of 32 as an f16 scale and int8 values that decode to within half a step', () => {
    const next = mulberry32(5);
    const values = Float32Array.from({ length: 64 }, () => (next() / 2 ** 32 - 0.5) * 4);
    const q = quantizeQ8_0(values);
    expect(q.length).toBe(2 * 34);
    const view = new DataView(q.buffer);
    for (let b = 0; b < 2; b++) {
      const d = half(view.getUint16(b * 34, true));
      const block = values.subarray(b * 32, b * 32 + 32);
      expect(d).toBeCloseTo(Math.max(...block.map(Math.abs)) / 127, 3);
      for (let j = 0; j < 32; j++) expect(Math.abs(view.getInt8(b * 34 + 2 + j) * d - block[j])).toBeLessThanOrEqual(d / 2 + 1e-3);
    }
    expect(() => quantizeQ8_0(new Float32Array(31))).toThrow(/multiple of 32/);
  });

  it('lays out and writes q8_0 tensors that node-llama-cpp reads with their type', async () => {
    const src = { name: 'q', dims: [64, 2], type: 'q8_0' as const, chunks: () => [new Float32Array(128).fill(0.5)] };
    const { infos, dataBytes } = layoutTensors([src, { name: 'f', dims: [3], chunks: () => [new Float32Array(3)] }], 32);
    expect(infos.map((i) => i.offset)).toEqual([0, 160]); // 4 blocks x 34 bytes = 136, aligned up to 160
    expect(dataBytes).toBe(192);
    const w = await writeGguf(join(dir, 'q8.gguf'), { metadata: [], tensors: [src] });
    const info = await readGgufFileInfo(w.path, { readTensorInfo: true, logWarnings: false });
    expect(info.fullTensorInfo?.[0]).toMatchObject({ name: 'q', ggmlType: 8 });
  });
});
