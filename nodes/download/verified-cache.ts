import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import * as z from 'zod';

/**
 * Remembers that `dest` was verified, keyed by size + mtimeMs + sha256, so a restart trusts a
 * multi-GB file without re-hashing it. Any change to the file (size or mtime) voids the verdict.
 */
const VerifiedSchema = z.object({
  size: z.number().int().nonnegative(),
  mtimeMs: z.number(),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .nullable(),
});

export const verifiedPath = (dest: string) => `${dest}.verified.json`;

/**
 * The recorded verdict for `dest` as it is now (this size and mtime): `{sha256}` (null when only the
 * size was checked), or null when there is none or the file changed since.
 */
export async function cachedVerdict(dest: string, size: number, mtimeMs: number): Promise<{ sha256: string | null } | null> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(verifiedPath(dest), 'utf8'));
  } catch {
    return null;
  }
  const parsed = VerifiedSchema.safeParse(json);
  if (!parsed.success) return null;
  const v = parsed.data;
  return v.size === size && v.mtimeMs === mtimeMs ? { sha256: v.sha256 } : null;
}

export async function isCachedVerified(dest: string, size: number, mtimeMs: number, sha256: string | null): Promise<boolean> {
  const v = await cachedVerdict(dest, size, mtimeMs);
  // A size-only verdict (sha256 null) does not satisfy a caller who now asks for a digest.
  return v !== null && (sha256 === null || v.sha256 === sha256);
}

export async function recordVerified(dest: string, sha256: string | null): Promise<{ size: number; mtimeMs: number }> {
  const st = await stat(dest);
  await writeFile(verifiedPath(dest), JSON.stringify({ size: st.size, mtimeMs: st.mtimeMs, sha256 }));
  return { size: st.size, mtimeMs: st.mtimeMs };
}

export async function forgetVerified(dest: string): Promise<void> {
  await rm(verifiedPath(dest), { force: true });
}
