import { z } from 'zod';
import seed from '../../catalog/models.json';

export const CapabilitySchema = z.enum(['chat', 'tools', 'json', 'vision', 'embeddings']);

/** One curated catalog entry, as written in catalog/models.json and stored by the Hub. */
export const CatalogEntrySchema = z.object({
  id: z.string().regex(/^[a-zA-Z0-9._:-]{1,128}$/),
  enabled: z.boolean(),
  description: z.string().max(500).default(''),
  context_length: z.number().int().positive(),
  capabilities: z.array(CapabilitySchema).min(1),
  vram_mb: z.number().positive(),
  engine: z.enum(['builtin', 'openai']),
  weights: z.object({
    url: z.string().min(1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
    bytes: z.number().int().nonnegative().optional(),
  }),
  upstream_url: z.string().url().optional(),
});
export type CatalogEntry = z.infer<typeof CatalogEntrySchema>;

/** The seed catalog shipped in the repo; invalid entries fail the Hub's start loudly rather than serving a half catalog. */
export function seedCatalog(): CatalogEntry[] {
  return z.array(CatalogEntrySchema).parse(seed);
}

/**
 * Resolves a catalog weights reference to what a node fetches. `demo://file`
 * points at the demo origin configured for this edge; `hf://` and `http(s)://`
 * pass through (the agent resolves `hf://`). Returns null when a `demo://`
 * reference has no origin configured.
 */
export function resolveWeightsUrl(url: string, demoOrigin: string | undefined): string | null {
  if (!url.startsWith('demo://')) return url;
  if (!demoOrigin) return null;
  return `${demoOrigin.replace(/\/+$/, '')}/${url.slice('demo://'.length)}`;
}
