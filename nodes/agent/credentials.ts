import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as z from 'zod';

/** What `porten login` stores and `porten run` reads: the node's identity at one edge. */
export const CredentialsSchema = z.object({
  edge: z.string().url(),
  node_id: z.string().min(1).max(128),
  node_key: z.string().min(1).max(512),
});
export type Credentials = z.infer<typeof CredentialsSchema>;

export type CredentialsRead = { ok: true; credentials: Credentials } | { ok: false; missing: boolean; error: string };

/** Never throws: a missing file and a broken one are told apart, so `run` can say which. */
export function readCredentials(file: string): CredentialsRead {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    return { ok: false, missing, error: missing ? `no credentials at ${file}` : `cannot read ${file}: ${(err as Error).message}` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, missing: false, error: `${file} is not valid JSON` };
  }
  const parsed = CredentialsSchema.safeParse(value);
  if (!parsed.success) return { ok: false, missing: false, error: `${file} is not a porten credentials file (${parsed.error.issues[0]?.message})` };
  return { ok: true, credentials: parsed.data };
}

/**
 * Writes the file readable by its owner only (0600, directory 0700). The key
 * never exists on disk with wider permissions: the file is created 0600 under
 * a temporary name, then renamed into place.
 */
export function writeCredentials(file: string, c: Credentials): void {
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(c, null, 2)}\n`, { mode: 0o600 });
  // The umask cannot widen a mode, but an existing file keeps its old mode on overwrite: set it explicitly.
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}
