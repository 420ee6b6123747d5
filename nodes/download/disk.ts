import { statfs } from 'node:fs/promises';

/** Bytes an unprivileged process may still write in `dir`'s filesystem. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
}
