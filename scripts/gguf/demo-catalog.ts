import { readFile, writeFile } from 'node:fs/promises';
import * as z from 'zod';

/** The slice of a catalog entry the demo generator reads; other fields pass through untouched. */
const CatalogSchema = z.array(
  z
    .object({
      id: z.string(),
      weights: z.object({ url: z.string(), sha256: z.string().optional(), bytes: z.number().optional() }).loose(),
    })
    .loose(),
);

export interface Expected {
  sha256: string;
  bytes: number;
}

const SHA256 = /^[0-9a-f]{64}$/;

/** Expected size and digest of each `demo://FILE` entry, keyed by file name; entries still marked "TBD" are omitted. */
export async function readDemoExpectations(catalogPath: string): Promise<Map<string, Expected>> {
  const parsed = CatalogSchema.safeParse(JSON.parse(await readFile(catalogPath, 'utf8')));
  if (!parsed.success) throw new Error(`${catalogPath}: ${parsed.error.issues[0]?.message}`);
  const out = new Map<string, Expected>();
  for (const m of parsed.data) {
    const file = m.weights.url.startsWith('demo://') ? m.weights.url.slice('demo://'.length) : undefined;
    if (file && m.weights.sha256 && SHA256.test(m.weights.sha256) && m.weights.bytes) {
      out.set(file, { sha256: m.weights.sha256, bytes: m.weights.bytes });
    }
  }
  return out;
}

/**
 * Rewrites the `sha256` and `bytes` of the given demo entries in place, by text
 * substitution so the catalog's hand formatting survives. Throws when an entry's
 * weights line is not in the expected one-line form.
 */
export async function writeDemoExpectations(catalogPath: string, values: Map<string, Expected>): Promise<void> {
  let text = await readFile(catalogPath, 'utf8');
  for (const [file, v] of values) {
    const re = new RegExp(`("url":\\s*"demo://${file.replace(/\./g, '\\.')}",\\s*"sha256":\\s*)"[^"]*"(,\\s*"bytes":\\s*)\\d+`);
    if (!re.test(text)) throw new Error(`${catalogPath}: no one-line weights entry for demo://${file}`);
    text = text.replace(re, `$1"${v.sha256}"$2${v.bytes}`);
  }
  CatalogSchema.parse(JSON.parse(text)); // never leave the catalog unparseable
  await writeFile(catalogPath, text);
}
