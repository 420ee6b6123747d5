import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import * as z from 'zod';
import type { Segment } from './plan';

/** Progress of an unfinished download, kept next to `<dest>.partial` so a restart fetches only what is missing. */
const PartialStateSchema = z.object({
  v: z.literal(1),
  url: z.string(),
  total: z.number().int().nonnegative(),
  /** validator from the origin; a changed file must not be spliced onto old bytes */
  etag: z.string().nullable(),
  segments: z.array(z.object({ start: z.number().int().nonnegative(), end: z.number().int().nonnegative(), done: z.number().int().nonnegative() })).min(1),
});
export type PartialState = z.infer<typeof PartialStateSchema>;

export const partialPath = (dest: string) => `${dest}.partial`;
export const statePath = (dest: string) => `${dest}.partial.json`;

/** Reads the sidecar; anything unreadable or inconsistent counts as absent (we then start over). */
export async function readPartialState(dest: string): Promise<PartialState | null> {
  let raw: string;
  try {
    raw = await readFile(statePath(dest), 'utf8');
  } catch {
    return null;
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return null;
  }
  const parsed = PartialStateSchema.safeParse(json);
  if (!parsed.success) return null;
  const s = parsed.data;
  const consistent = s.segments.every((seg) => seg.start <= seg.end && seg.end <= s.total && seg.start + seg.done <= seg.end);
  return consistent ? s : null;
}

/** Write-then-rename so a kill mid-save leaves the previous sidecar, never a torn one. */
export async function writePartialState(dest: string, state: { url: string; total: number; etag: string | null; segments: readonly Segment[] }): Promise<void> {
  const body: PartialState = { v: 1, url: state.url, total: state.total, etag: state.etag, segments: state.segments.map((s) => ({ ...s })) };
  const tmp = `${statePath(dest)}.tmp`;
  await writeFile(tmp, JSON.stringify(body));
  await rename(tmp, statePath(dest));
}

export async function removePartial(dest: string): Promise<void> {
  await Promise.all([rm(partialPath(dest), { force: true }), rm(statePath(dest), { force: true }), rm(`${statePath(dest)}.tmp`, { force: true })]);
}
