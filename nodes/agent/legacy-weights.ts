import { copyFile, link, stat } from 'node:fs/promises';
import path from 'node:path';
import { legacyModelFileName, modelFileName } from '../engines/args';

/**
 * Before model file names were made injective (see `modelFileName`),
 * `org:model` and `org_model` shared `org_model.gguf`. A file under its old
 * name is adopted for the new one only when the catalog pins a sha256: it is
 * hard-linked (no copy, the old name left as it is) together with its
 * verified-verdict sidecar, and the downloader then trusts the link only if
 * that digest matches — otherwise it deletes the link and downloads. Without
 * a pin nothing proves whose weights the old file holds, so nothing is
 * adopted. Never throws; true when something was linked.
 */
export async function adoptLegacyWeights(dir: string, model: string, sha256: string | undefined): Promise<boolean> {
  const legacy = path.join(dir, legacyModelFileName(model));
  const dest = path.join(dir, modelFileName(model));
  if (!sha256 || legacy === dest) return false;
  try {
    await stat(dest);
    return false;
  } catch {
    // No file under the new name yet: try the old one.
  }
  try {
    await link(legacy, dest);
  } catch {
    return false;
  }
  await copyFile(`${legacy}.verified.json`, `${dest}.verified.json`).catch(() => undefined);
  return true;
}
