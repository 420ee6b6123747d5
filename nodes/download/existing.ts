import { rm, stat } from 'node:fs/promises';
import { DownloadError } from './errors';
import type { ProbeResult } from './probe';
import { hashFile } from './sequential-hasher';
import { forgetVerified, isCachedVerified, recordVerified } from './verified-cache';

/**
 * Decides whether a file already at `dest` may be used: returns its size when trusted, null when
 * it must be (re)downloaded, in which case a file that failed the check has been deleted.
 * Trusted means: a cached verdict for this exact size+mtime (+digest), or a fresh hash that
 * matches `sha`; without a digest, a size equal to `bytes` or to what the origin reports.
 */
export async function existingVerdict(
  dest: string,
  sha: string | null,
  bytes: number | undefined,
  doProbe: () => Promise<ProbeResult>,
): Promise<number | null> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(dest);
  } catch {
    return null;
  }
  if (!st.isFile()) throw new DownloadError('download_failed', `${dest} exists and is not a regular file`);
  if (bytes === undefined || st.size === bytes) {
    if (await isCachedVerified(dest, st.size, st.mtimeMs, sha)) return st.size;
    if (sha !== null) {
      const digest = await hashFile(dest, st.size);
      if (digest === sha) {
        await recordVerified(dest, digest);
        return st.size;
      }
    } else {
      const expected = bytes ?? (await doProbe()).size;
      if (expected === st.size) {
        await recordVerified(dest, null);
        return st.size;
      }
    }
  }
  // Corrupt or stale: it must not be served, and it would block the rename.
  await rm(dest, { force: true });
  await forgetVerified(dest);
  return null;
}
