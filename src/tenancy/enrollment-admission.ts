/**
 * Who may start an enrollment when many are waiting. Enrollment is
 * unauthenticated by design, so its pending set must not be something one
 * client can fill: each source (client address, see src/security/client-ip.ts)
 * holds at most `perSource` pending codes, and when the whole set is full a
 * newcomer takes the place of the oldest code of the source that holds the
 * most (preferring sources that were already rate-limited) instead of being
 * turned away. A lone attacker therefore only ever evicts its own codes; a
 * legitimate `porten login` from another address always gets in. Pure.
 */
import { LOCAL_SOURCE } from '../security/client-ip';

export const ENROLL_PENDING_PER_SOURCE = 3;
export const ENROLL_PENDING_TOTAL = 256;

export interface PendingEnrollment {
  user_code: string;
  source: string | null;
  created: number;
}

export type EnrollAdmission = { ok: true; evict?: string } | { ok: false; reason: 'source_full'; message: string };

export function admitEnrollment(
  pending: readonly PendingEnrollment[],
  source: string,
  limited: (source: string) => boolean = () => false,
  caps = { perSource: ENROLL_PENDING_PER_SOURCE, total: ENROLL_PENDING_TOTAL },
): EnrollAdmission {
  const bySource = new Map<string, PendingEnrollment[]>();
  for (const p of pending) {
    const k = p.source ?? '';
    const list = bySource.get(k) ?? [];
    list.push(p);
    bySource.set(k, list);
  }
  const mine = bySource.get(source)?.length ?? 0;
  // The local source (no client address: npm start, tests) has no per-source cap; the fleet-wide one still holds.
  if (mine >= caps.perSource && source !== LOCAL_SOURCE) {
    return {
      ok: false,
      reason: 'source_full',
      message: `This address already has ${mine} enrollments waiting for approval; finish or let one expire (10 minutes) first.`,
    };
  }
  if (pending.length < caps.total) return { ok: true };
  // Full: evict from the most suspicious source — rate-limited first, then the one holding most, then the oldest code.
  let victim: PendingEnrollment | undefined;
  let rank: [number, number, number] | undefined;
  for (const [src, list] of bySource) {
    const oldest = list.reduce((a, b) => (b.created < a.created ? b : a));
    const r: [number, number, number] = [limited(src) ? 1 : 0, list.length, -oldest.created];
    if (!rank || r[0] > rank[0] || (r[0] === rank[0] && (r[1] > rank[1] || (r[1] === rank[1] && r[2] > rank[2])))) {
      rank = r;
      victim = oldest;
    }
  }
  return victim ? { ok: true, evict: victim.user_code } : { ok: true };
}
