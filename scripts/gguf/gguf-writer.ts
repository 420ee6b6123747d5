import { createHash } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { encodeHeader, GGUF_DEFAULT_ALIGNMENT, tensorBytes, type GgufValue, type TensorInfo, type WritableType } from './gguf-format';
import { quantizeQ8_0 } from './quantize';

/** A tensor whose F32 data is produced lazily, chunk by chunk, so no file-sized buffer ever exists. */
export interface TensorSource {
  name: string;
  /** ggml order: dims[0] is the innermost (contiguous) dimension. */
  dims: number[];
  /** Stored type (default f32). The values are produced as F32 either way and encoded while writing. */
  type?: WritableType;
  /**
   * Yields the tensor's values in order; the chunks' lengths must add up to the
   * product of `dims`. A yielded array may be reused by the generator once the
   * writer asks for the next chunk.
   */
  chunks(): Iterable<Float32Array>;
}

export interface GgufSpec {
  metadata: ReadonlyArray<[string, GgufValue]>;
  tensors: readonly TensorSource[];
  alignment?: number;
}

export interface WrittenFile {
  path: string;
  bytes: number;
  sha256: string;
}

let writeCounter = 0;
const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;
const elementCount = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** Lays the tensors out in the data section: each starts on an alignment boundary. */
export function layoutTensors(tensors: readonly TensorSource[], alignment: number): { infos: TensorInfo[]; dataBytes: number } {
  let offset = 0;
  const infos = tensors.map((t) => {
    const info: TensorInfo = { name: t.name, dims: t.dims, offset, type: t.type ?? 'f32' };
    offset = alignUp(offset + tensorBytes(t.type ?? 'f32', elementCount(t.dims)), alignment);
    return info;
  });
  return { infos, dataBytes: offset };
}

/**
 * Writes a GGUF v3 file, streaming tensor data to disk and hashing it on the way.
 * Guarantees: the bytes depend only on `spec` (deterministic); the file appears at
 * `path` only when complete (written to a unique `*.partial` sibling, then renamed), so a crash
 * never leaves a truncated file under the final name.
 */
export async function writeGguf(path: string, spec: GgufSpec): Promise<WrittenFile> {
  const alignment = spec.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  const { infos } = layoutTensors(spec.tensors, alignment);
  const header = encodeHeader(spec.metadata, infos, alignment);
  const hash = createHash('sha256');
  // Unique per writer: two processes ensuring the same demo file at once must not interleave bytes.
  const tmp = `${path}.${process.pid}-${++writeCounter}.partial`;
  const fh = await open(tmp, 'w');
  let written = 0;
  const put = async (buf: Uint8Array) => {
    hash.update(buf);
    await fh.write(buf);
    written += buf.length;
  };
  try {
    await put(header);
    const dataStart = written;
    for (let i = 0; i < spec.tensors.length; i++) {
      const gap = dataStart + infos[i].offset - written;
      if (gap > 0) await put(Buffer.alloc(gap));
      let n = 0;
      const q8 = spec.tensors[i].type === 'q8_0';
      for (const chunk of spec.tensors[i].chunks()) {
        n += chunk.length;
        // Float32Array bytes are little-endian on every platform Node supports (x64, arm64).
        await put(q8 ? quantizeQ8_0(chunk) : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      }
      const want = elementCount(spec.tensors[i].dims);
      if (n !== want) throw new Error(`tensor ${spec.tensors[i].name}: produced ${n} values, expected ${want}`);
    }
    await fh.close();
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
  await rename(tmp, path);
  return { path, bytes: written, sha256: hash.digest('hex') };
}
