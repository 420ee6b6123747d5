import path from 'node:path';
import { DownloadError } from './errors';
import { ensureFile } from './index';
import type { DownloadProgress } from './progress';
import type { HfSettings } from './resolve-url';
import { partName, partUrls } from './split';
import type { EnsureFileResult } from './types';

export interface ModelFilesOptions {
  /** the catalog reference: one file, or the first part of a split GGUF */
  url: string;
  /** where the model goes, as `<dir>/<stem>.gguf` (a split model: `<dir>/<stem>-0000i-of-0000N.gguf`) */
  dir: string;
  stem: string;
  /** pins the file the URL names (for a split model: its first part) */
  sha256?: string;
  bytes?: number;
  requireDigest?: boolean;
  hf?: HfSettings;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  /** passed through to every ensureFile (tests) */
  tuning?: Pick<Parameters<typeof ensureFile>[0], 'stallMs' | 'retries' | 'backoff' | 'segments' | 'diskFreeBytes'>;
}

export interface ModelFiles {
  /** the file engines load: the single file, or the first part */
  path: string;
  parts: EnsureFileResult[];
  bytes: number;
  /** true when every part was already on disk, verified */
  reused: boolean;
}

/**
 * Makes every file of a model present and verified: one file, or each part of a split GGUF in
 * order, each with its own ranges, resume and verification (the pinned sha256 and size apply to the
 * part the URL names; the others are verified against the origin's x-linked-etag, or refused when
 * a digest is required and the origin sends none). Progress adds the parts up; until a later part
 * has been probed its size is taken to be the current part's (gguf-split cuts parts of a similar
 * size). The model is usable only once every part is: nothing partial is ever handed to an engine.
 */
export async function ensureModelFiles(o: ModelFilesOptions): Promise<ModelFiles> {
  let urls: string[];
  try {
    urls = partUrls(o.url);
  } catch (err) {
    throw new DownloadError('download_failed', (err as Error).message);
  }
  const split = urls.length > 1;
  const parts: EnsureFileResult[] = [];
  let doneBefore = 0;
  for (const [i, url] of urls.entries()) {
    const first = i === 0;
    const dest = path.join(o.dir, split ? partName(o.stem, i + 1, urls.length) : `${o.stem}.gguf`);
    const left = urls.length - i - 1;
    const got = await ensureFile({
      url,
      dest,
      sha256: first ? o.sha256 : undefined,
      bytes: first ? o.bytes : undefined,
      requireDigest: o.requireDigest,
      hf: o.hf,
      signal: o.signal,
      ...o.tuning,
      onProgress: o.onProgress
        ? (p) => o.onProgress!({ doneBytes: doneBefore + p.doneBytes, totalBytes: doneBefore + p.totalBytes * (1 + left), bytesPerSec: p.bytesPerSec })
        : undefined,
    }).catch((err: unknown) => {
      if (split && err instanceof DownloadError) throw new DownloadError(err.code, `part ${i + 1} of ${urls.length}: ${err.message}`, { cause: err });
      throw err;
    });
    parts.push(got);
    doneBefore += got.bytes;
  }
  return { path: parts[0].path, parts, bytes: doneBefore, reused: parts.every((p) => p.reused) };
}
