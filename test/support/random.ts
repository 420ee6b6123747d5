import { mulberry32 } from '../../scripts/gguf/prng';

/** Seeded randomness for property and fuzz tests: the same cases on every run, so a failure reproduces. */
export function seeded(seed: number) {
  const next = mulberry32(seed);
  const rand = () => next() / 4294967296;
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  return { rand, int, pick };
}
