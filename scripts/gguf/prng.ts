/**
 * Deterministic pseudo-random numbers for demo weights.
 *
 * mulberry32: 32-bit state, integer-only arithmetic (Math.imul), so the sequence
 * is bit-identical on every machine and Node version — that is what makes the
 * demo files' sha256 reproducible. Not for anything security-related.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** FNV-1a over a string's UTF-16 code units: derives a per-tensor seed from its name. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Fills `out` with uniform values in [-scale, scale), continuing the generator's sequence. */
export function fillUniform(next: () => number, out: Float32Array, scale: number): void {
  const k = (2 * scale) / 4294967296;
  for (let i = 0; i < out.length; i++) out[i] = next() * k - scale;
}
