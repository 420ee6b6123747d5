import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';
import { afterAll, describe, expect, it } from 'vitest';
import { parameterCount, tensorTable, tensorType, writeHeaderOnlyGguf } from '../../scripts/docs/hardware-gguf';
import { ARCHITECTURES } from '../../scripts/docs/hardware-models';

const dir = mkdtempSync(path.join(tmpdir(), 'porten-hw-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const arch = (name: string) => ARCHITECTURES.find((a) => a.name === name)!;

describe("the hardware guide's GGUF headers", () => {
  it("follow llama-quantize's Q4_K_M mix: Q6_K on attn_v and ffn_down of half the layers, on output.weight", () => {
    const llama = tensorTable(arch('Llama 3.1 8B Instruct'), 'Q4_K_M');
    const types = (suffix: string) => llama.filter((t) => t.name === suffix || t.name.endsWith(`.${suffix}`)).map((t) => t.type);
    // use_more_bits over 32 layers: 0–3, 28–31 and every third layer from 6 to 27: 16 layers.
    expect(types('attn_v.weight').filter((t) => t === 'q6_k')).toHaveLength(16);
    expect(types('ffn_down.weight').filter((t) => t === 'q6_k')).toHaveLength(16);
    expect(types('attn_q.weight').every((t) => t === 'q4_k')).toBe(true);
    expect(types('output.weight')).toEqual(['q6_k']);
    expect(types('token_embd.weight')).toEqual(['q4_k']);
    expect(types('attn_norm.weight').every((t) => t === 'f32')).toBe(true);
    // A 70B keeps its other attn_v at Q5_K (8 query heads share each V head).
    expect(tensorType('Q4_K_M', 'attn_v', 11, 80, true)).toBe('q5_k');
    expect(tensorType('Q5_K_M', 'attn_v', 11, 80, true)).toBe('q5_k');
    expect(tensorType('Q4_K_M', 'attn_v', 12, 80, true)).toBe('q6_k');
    expect(tensorType('Q8_0', 'output', 0, 32, false)).toBe('q8_0');
    expect(tensorType('F16', 'output', 0, 32, false)).toBe('f16');
  });

  it('count the parameters model cards state', () => {
    expect((parameterCount(arch('Llama 3.1 8B Instruct')) / 1e9).toFixed(2)).toBe('8.03');
    expect((parameterCount(arch('Llama 3.3 70B Instruct')) / 1e9).toFixed(2)).toBe('70.55');
  });

  it("are read back by node-llama-cpp's parser with the tensor types and the file size written", async () => {
    const file = path.join(dir, 'qwen-q4.gguf');
    const size = await writeHeaderOnlyGguf(file, arch('Qwen2.5 Coder 32B Instruct'), 'Q4_K_M');
    expect(statSync(file).size).toBe(size);
    // Sparse: the data section takes no blocks (allow a little for the header and filesystem granularity).
    expect(statSync(file).blocks * 512).toBeLessThan(16 * 1024 * 1024);
    const info = await readGgufFileInfo(file);
    const meta = info.architectureMetadata as { block_count?: number; attention?: { head_count_kv?: number } };
    expect(meta.block_count).toBe(64);
    expect(meta.attention?.head_count_kv).toBe(8);
    const output = info.fullTensorInfo?.find((t) => t.name === 'output.weight');
    expect(output?.ggmlType).toBe(14); // GGML_TYPE_Q6_K
    expect(info.fullTensorInfo?.filter((t) => t.name.endsWith('attn_q.bias'))).toHaveLength(64);
  });
});
