import * as z from 'zod';

/** Node trust classes, weakest first. A key's `min_trust` admits its class and every stronger one. */
export const TRUST_CLASSES = ['community', 'verified', 'trusted', 'confidential'] as const;
export const TrustSchema = z.enum(TRUST_CLASSES);
export type Trust = z.infer<typeof TrustSchema>;

export function trustAtLeast(have: Trust, need: Trust): boolean {
  return TRUST_CLASSES.indexOf(have) >= TRUST_CLASSES.indexOf(need);
}
