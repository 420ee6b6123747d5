/**
 * Encoding of GGUF v3 headers: magic, version, metadata key/values, tensor infos.
 * Spec: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md (all little-endian).
 * Tensor data is written separately by gguf-writer.ts so it can stream.
 */
export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** GGUF metadata value type ids. */
export const GgufType = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;
export type ScalarKind = Exclude<keyof typeof GgufType, 'array'>;

export type GgufValue =
  | { kind: ScalarKind; value: number | bigint | boolean | string }
  | { kind: 'array'; of: ScalarKind; values: ReadonlyArray<number | bigint | boolean | string> };

/**
 * ggml tensor types: id, values per block and bytes per block (ggml's `type_traits`).
 * Q8_0 (blocks of 32 int8 with one f16 scale) keeps large-vocabulary embedding and
 * output matrices at about a quarter of their F32 size. The writer encodes data for
 * f32 and q8_0 (`WritableType`); the others are named by header-only files (the
 * hardware guide's, scripts/docs/hardware-gguf.ts), whose data is never written.
 */
export const GGML_TYPES = {
  f32: { id: 0, blockValues: 1, blockBytes: 4 },
  f16: { id: 1, blockValues: 1, blockBytes: 2 },
  q8_0: { id: 8, blockValues: 32, blockBytes: 34 },
  q4_k: { id: 12, blockValues: 256, blockBytes: 144 },
  q5_k: { id: 13, blockValues: 256, blockBytes: 176 },
  q6_k: { id: 14, blockValues: 256, blockBytes: 210 },
} as const;
export type TensorType = keyof typeof GGML_TYPES;
/** The types whose data gguf-writer.ts encodes. */
export type WritableType = Extract<TensorType, 'f32' | 'q8_0'>;

/** Bytes of a tensor of `type` with `values` elements (a multiple of the type's block size). */
export function tensorBytes(type: TensorType, values: number): number {
  const t = GGML_TYPES[type];
  if (values % t.blockValues !== 0) throw new Error(`${type} tensors need a multiple of ${t.blockValues} values, got ${values}`);
  return (values / t.blockValues) * t.blockBytes;
}

export interface TensorInfo {
  name: string;
  /** ggml order: dims[0] is the innermost (contiguous) dimension. */
  dims: number[];
  /** Byte offset inside the data section; a multiple of the alignment. */
  offset: number;
  type?: TensorType;
}

/** Growable little-endian byte sink; headers are small (vocab arrays dominate, < 100 KB). */
class ByteSink {
  private buf = Buffer.alloc(1 << 16);
  length = 0;
  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u8(v: number) {
    this.reserve(1);
    this.buf.writeUInt8(v, this.length);
    this.length += 1;
  }
  i8(v: number) {
    this.reserve(1);
    this.buf.writeInt8(v, this.length);
    this.length += 1;
  }
  u16(v: number) {
    this.reserve(2);
    this.buf.writeUInt16LE(v, this.length);
    this.length += 2;
  }
  i16(v: number) {
    this.reserve(2);
    this.buf.writeInt16LE(v, this.length);
    this.length += 2;
  }
  u32(v: number) {
    this.reserve(4);
    this.buf.writeUInt32LE(v, this.length);
    this.length += 4;
  }
  i32(v: number) {
    this.reserve(4);
    this.buf.writeInt32LE(v, this.length);
    this.length += 4;
  }
  f32(v: number) {
    this.reserve(4);
    this.buf.writeFloatLE(v, this.length);
    this.length += 4;
  }
  f64(v: number) {
    this.reserve(8);
    this.buf.writeDoubleLE(v, this.length);
    this.length += 8;
  }
  u64(v: number | bigint) {
    this.reserve(8);
    this.buf.writeBigUInt64LE(BigInt(v), this.length);
    this.length += 8;
  }
  i64(v: number | bigint) {
    this.reserve(8);
    this.buf.writeBigInt64LE(BigInt(v), this.length);
    this.length += 8;
  }
  str(s: string) {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.reserve(bytes.length);
    bytes.copy(this.buf, this.length);
    this.length += bytes.length;
  }
  pad(alignment: number) {
    while (this.length % alignment !== 0) this.u8(0);
  }
  toBuffer(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

function writeScalar(sink: ByteSink, kind: ScalarKind, v: number | bigint | boolean | string): void {
  switch (kind) {
    case 'string':
      return sink.str(String(v));
    case 'bool':
      return sink.u8(v ? 1 : 0);
    case 'u64':
      return sink.u64(v as number | bigint);
    case 'i64':
      return sink.i64(v as number | bigint);
    default:
      return sink[kind](Number(v));
  }
}

/**
 * Builds the complete header (everything before the tensor data), padded to `alignment`.
 * Key order is preserved, so equal inputs always give equal bytes.
 */
export function encodeHeader(metadata: ReadonlyArray<[string, GgufValue]>, tensors: readonly TensorInfo[], alignment: number): Buffer {
  const s = new ByteSink();
  s.u32(GGUF_MAGIC);
  s.u32(GGUF_VERSION);
  s.u64(tensors.length);
  s.u64(metadata.length);
  for (const [key, val] of metadata) {
    s.str(key);
    s.u32(GgufType[val.kind]);
    if (val.kind === 'array') {
      s.u32(GgufType[val.of]);
      s.u64(val.values.length);
      for (const item of val.values) writeScalar(s, val.of, item);
    } else {
      writeScalar(s, val.kind, val.value);
    }
  }
  for (const t of tensors) {
    s.str(t.name);
    s.u32(t.dims.length);
    for (const d of t.dims) s.u64(d);
    s.u32(GGML_TYPES[t.type ?? 'f32'].id);
    s.u64(t.offset);
  }
  s.pad(alignment);
  return s.toBuffer();
}
