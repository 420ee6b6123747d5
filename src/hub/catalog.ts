import * as z from 'zod';
import seed from '../../catalog/models.json';

export const CapabilitySchema = z.enum(['chat', 'tools', 'json', 'vision', 'embeddings', 'reasoning']);

/** One curated catalog entry, as written in catalog/models.json and stored by the Hub. */
export const CatalogEntrySchema = z.object({
  id: z.string().regex(/^[a-zA-Z0-9._:-]{1,128}$/),
  enabled: z.boolean(),
  description: z.string().max(500).default(''),
  context_length: z.number().int().positive(),
  capabilities: z.array(CapabilitySchema).min(1),
  vram_mb: z.number().positive(),
  /** `builtin` and `llama-server` both run the GGUF in `weights`; see docs/engines.md for the choice. */
  engine: z.enum(['builtin', 'openai', 'llama-server']),
  weights: z.object({
    url: z.string().min(1),
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
    bytes: z.number().int().nonnegative().optional(),
    /**
     * Accept the file on its size alone when neither `sha256` nor the origin (Hugging Face's
     * x-linked-etag) vouches for its bytes. Off by default: nodes refuse unverifiable weights.
     */
    allow_unverified: z.boolean().optional(),
  }),
  upstream_url: z.string().url().optional(),
  /** Requests that may wait for this model at once; more get 429 queue_full (default PORTEN_QUEUE_MAX, else 64). */
  queue_max: z.number().int().positive().max(100_000).optional(),
});
export type CatalogEntry = z.infer<typeof CatalogEntrySchema>;

/** `PATCH /admin/v1/models/{id}`: only availability changes in place; anything else is a new entry (POST). */
export const CatalogPatchSchema = z.object({ enabled: z.boolean() }).strict();

/** What the Hub seeds on start: the entries to apply, and the ids it must not offer on this edge. */
export interface Seed {
  entries: CatalogEntry[];
  /** Seed entries this edge cannot serve (`demo://` weights without a demo origin): removed unless an operator wrote them. */
  withheld: string[];
}

/**
 * The seed catalog shipped in the repo (catalog/models.json), for an edge with or without a demo origin: demo
 * entries exist only where `PORTEN_DEMO_ORIGIN` says where their weights are, so a production edge never offers a
 * model no node could download. Invalid entries fail the Hub's start loudly rather than serving a half catalog.
 */
export function seedCatalog(demoOrigin: string | undefined): Seed {
  const all = z.array(CatalogEntrySchema).parse(seed);
  const servable = (e: CatalogEntry) => resolveWeightsUrl(e.weights.url, demoOrigin) !== null;
  return { entries: all.filter(servable), withheld: all.filter((e) => !servable(e)).map((e) => e.id) };
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
