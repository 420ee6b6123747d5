/**
 * Q8_0 encoding as ggml defines it (`quantize_row_q8_0_ref`): blocks of 32
 * values, each stored as an f16 scale `d = max|x| / 127` followed by 32 int8
 * `round(x / d)`. Pure integer/IEEE arithmetic, so the bytes are the same on
 * every machine (the demo files' sha256 depends on it).
 */
const BLOCK = 32;
const BLOCK_BYTES = 34;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half-precision bits of `x`, rounded to nearest even (what F16C and ggml's reference conversion do). */
export function toHalfBits(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow to inf
  if (e <= 0) {
    if (e < -10) return sign; // underflows to zero
    mant |= 0x800000; // make the implicit bit explicit, then shift into the subnormal range
    const shift = 14 - e;
    const half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && half & 1) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // Rounding may carry into the exponent, which is exactly right (and reaches inf at the top).
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && half & 1) ? 1 : 0));
}

/** `values.length` must be a multiple of 32. Returns the Q8_0 bytes (34 per block). */
export function quantizeQ8_0(values: Float32Array): Uint8Array {
  if (values.length % BLOCK !== 0) throw new Error(`Q8_0 needs a multiple of ${BLOCK} values, got ${values.length}`);
  const out = new Uint8Array((values.length / BLOCK) * BLOCK_BYTES);
  const view = new DataView(out.buffer);
  for (let b = 0; b < values.length / BLOCK; b++) {
    let amax = 0;
    for (let j = 0; j < BLOCK; j++) amax = Math.max(amax, Math.abs(values[b * BLOCK + j]));
    const d = Math.fround(amax / 127);
    const id = d ? Math.fround(1 / d) : 0;
    view.setUint16(b * BLOCK_BYTES, toHalfBits(d), true);
    for (let j = 0; j < BLOCK; j++) {
      // roundf: halves away from zero, unlike Math.round.
      const x = Math.fround(values[b * BLOCK + j] * id);
      view.setInt8(b * BLOCK_BYTES + 2 + j, Math.sign(x) * Math.floor(Math.abs(x) + 0.5));
    }
  }
  return out;
}
