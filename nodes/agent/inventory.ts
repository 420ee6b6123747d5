import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { InventoryItem } from '../../src/protocol';
import { modelFileName } from '../engines/args';
import { scanModels } from './local-models';

/**
 * The weights on disk under `dir` as the hello and `node.inventory` report them: finished models
 * (`<model>.gguf`, or every part of a split GGUF), with the sha256 only when the downloader's
 * `.verified.json` sidecar still matches the file. File names come from `modelFileName`: a plain id is its own
 * name; a hashed name's id is read from its `.id` sidecar, written when the download started, and a file whose id
 * cannot be told is left out. Downloads in progress and incomplete splits are left out; a missing directory is an
 * empty inventory.
 */
export async function scanInventory(dir: string): Promise<InventoryItem[]> {
  const items: InventoryItem[] = [];
  for (const m of await scanModels(dir)) {
    if (m.verification === 'downloading' || m.verification === 'incomplete') continue;
    const model = m.files.length === 1 ? await modelOf(path.join(dir, m.files[0]), m.files[0]) : m.model;
    if (model === null) continue;
    items.push({ model, bytes: m.bytes, sha256: m.sha256 });
  }
  return items.slice(0, 4096);
}

/** Writes the id beside a hashed weights file, so the inventory can name the model (plain ids need none). */
export async function recordModelId(file: string, model: string): Promise<void> {
  if (path.basename(file) !== `${model}.gguf`) await writeFile(`${file}.id`, model);
}

/** The model id a weights file holds, or null when it cannot be told (a hashed name without a matching sidecar). */
async function modelOf(file: string, name: string): Promise<string | null> {
  if (!name.includes('~')) return name.slice(0, -5);
  try {
    const id = (await readFile(`${file}.id`, 'utf8')).trim();
    return modelFileName(id) === name ? id : null;
  } catch {
    return null;
  }
}
