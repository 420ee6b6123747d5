/**
 * The least-loaded candidate, ties broken at random: a node cannot attract
 * traffic by its name (ties used to go to the alphabetically first id), and
 * equal replicas share the load. `random` is injected for tests. Pure.
 */
export function pickLeastLoaded<T extends { load: number }>(candidates: readonly T[], random: () => number = Math.random): T | null {
  let best: T | null = null;
  let ties = 0;
  for (const c of candidates) {
    if (!best || c.load < best.load) {
      best = c;
      ties = 1;
    } else if (c.load === best.load) {
      // Reservoir sampling over the tied: each of k ties ends up chosen with probability 1/k.
      ties++;
      if (random() * ties < 1) best = c;
    }
  }
  return best;
}
