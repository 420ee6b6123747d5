import { join } from 'node:path';
import type { GgufValue } from './gguf-format';
import { writeGguf, type GgufSpec, type WrittenFile } from './gguf-writer';

/**
 * Writes `spec` as a split GGUF the way llama.cpp's `gguf-split` lays one out: `count` files
 * `<prefix>-0000i-of-0000N.gguf`, each a GGUF of its own holding a share of the tensors and the
 * `split.no` (u16, from 0), `split.count` (u16) and `split.tensors.count` (i32) keys; the first
 * part also carries all of the model's metadata. llama.cpp (and so node-llama-cpp and
 * llama-server) loads the whole model from the first part when the others sit beside it.
 */
export async function writeSplitGguf(dir: string, prefix: string, spec: GgufSpec, count: number): Promise<WrittenFile[]> {
  if (count < 2 || count > spec.tensors.length) throw new Error(`cannot split ${spec.tensors.length} tensors into ${count} parts`);
  const per = Math.ceil(spec.tensors.length / count);
  const out: WrittenFile[] = [];
  for (let i = 0; i < count; i++) {
    const split: Array<[string, GgufValue]> = [
      ['split.no', { kind: 'u16', value: i }],
      ['split.count', { kind: 'u16', value: count }],
      ['split.tensors.count', { kind: 'i32', value: spec.tensors.length }],
    ];
    const name = `${prefix}-${String(i + 1).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.gguf`;
    out.push(
      await writeGguf(join(dir, name), {
        metadata: i === 0 ? [...spec.metadata, ...split] : split,
        tensors: spec.tensors.slice(i * per, (i + 1) * per),
        alignment: spec.alignment,
      }),
    );
  }
  return out;
}
