const enc = new TextEncoder();

/** Constant-time string comparison, so a secret's prefix cannot be guessed byte by byte from timing. Pure: Workers and Node. */
export function safeEqual(a: string, b: string): boolean {
  const x = enc.encode(a);
  const y = enc.encode(b);
  let diff = x.length ^ y.length;
  // Every byte of the longer one is visited whatever the inputs; reads past a shorter array's end are avoided
  // (they count as 0), as V8 deoptimises out-of-bounds typed-array reads.
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) diff |= (i < x.length ? x[i] : 0) ^ (i < y.length ? y[i] : 0);
  return diff === 0;
}
