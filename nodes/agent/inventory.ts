import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { InventoryItem } from '../../src/protocol';

/**
 * Lists the weights on disk under `dir` (`<model>.gguf`). The sha256 is
 * reported only when the downloader's `.verified.json` sidecar still matches the
 * file's size and mtime; a missing directory is an empty inventory.
 */
export async function scanInventory(dir: string): Promise<InventoryItem[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const items: InventoryItem[] = [];
  for (const name of names.sort()) {
    if (!name.endsWith('.gguf')) continue;
    const file = path.join(dir, name);
    try {
      const st = await stat(file);
      if (!st.isFile()) continue;
      items.push({ model: name.slice(0, -5), bytes: st.size, sha256: await verifiedDigest(file, st.size, st.mtimeMs) });
    } catch {
      // removed while scanning
    }
  }
  return items.slice(0, 4096);
}

async function verifiedDigest(file: string, size: number, mtimeMs: number): Promise<string | undefined> {
  try {
    const v = JSON.parse(await readFile(`${file}.verified.json`, 'utf8')) as { size?: unknown; mtimeMs?: unknown; sha256?: unknown };
    return v.size === size && v.mtimeMs === mtimeMs && typeof v.sha256 === 'string' && /^[0-9a-f]{64}$/.test(v.sha256) ? v.sha256 : undefined;
  } catch {
    return undefined;
  }
}
