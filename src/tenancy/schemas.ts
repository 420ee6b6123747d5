import * as z from 'zod';
import { TrustSchema } from './trust';

/** Request bodies and queries of the tenancy admin API; parsed at the Worker, trusted by the Hub. */
export const NODE_ID_RE = /^[a-zA-Z0-9._-]{1,64}$/;
const nodeId = z.string().regex(NODE_ID_RE, 'must be 1-64 letters, digits, dot, dash or underscore');
const region = z.string().regex(/^[a-z0-9._-]{1,32}$/, 'must be 1-32 lowercase letters, digits, dot, dash or underscore');
const owner = z.string().min(1).max(128);
const positive = z.number().int().positive().max(1e12);
/** Operator caps on what a node may claim; null clears a cap (PATCH). Ceilings in src/security/claims.ts still apply. */
const maxBudgetMb = z
  .number()
  .int()
  .positive()
  .max(16 * 1024 * 1024);
const maxConcurrency = z.number().int().positive().max(1024);

export const CreateKeySchema = z
  .object({
    name: z.string().min(1).max(100),
    models: z.array(z.string().min(1).max(128)).min(1).max(256).optional(),
    regions: z.array(region).min(1).max(32).optional(),
    owner: owner.optional(),
    min_trust: TrustSchema.optional(),
    rpm: positive.optional(),
    tpm: positive.optional(),
    quota_tokens: positive.optional(),
    quota_period: z.enum(['day', 'month']).optional(),
    /** Most requests the key may have in flight at once (streams count until their last byte). */
    max_inflight: z.number().int().positive().max(100_000).optional(),
  })
  .strict()
  .refine((k) => (k.quota_tokens === undefined) === (k.quota_period === undefined), {
    message: 'quota_tokens and quota_period go together',
    path: ['quota_period'],
  });
export type CreateKey = z.infer<typeof CreateKeySchema>;

export const CreateNodeSchema = z
  .object({
    node_id: nodeId,
    owner: owner.optional(),
    region: region.default('default'),
    trust: TrustSchema.default('community'),
    max_budget_mb: maxBudgetMb.optional(),
    max_concurrency: maxConcurrency.optional(),
  })
  .strict();
export type CreateNode = z.infer<typeof CreateNodeSchema>;

export const PatchNodeSchema = z
  .object({
    region: region.optional(),
    trust: TrustSchema.optional(),
    owner: owner.nullable().optional(),
    max_budget_mb: maxBudgetMb.nullable().optional(),
    max_concurrency: maxConcurrency.nullable().optional(),
  })
  .strict();
export type PatchNode = z.infer<typeof PatchNodeSchema>;

export const ApproveSchema = z
  .object({
    node_id: nodeId.optional(),
    owner: owner.optional(),
    region: region.default('default'),
    trust: TrustSchema.default('community'),
  })
  .strict();
export type Approve = z.infer<typeof ApproveSchema>;

export const EnrollStartSchema = z.object({ hostname: z.string().max(255).optional() }).strict();
export const EnrollTokenSchema = z
  .object({
    device_code: z.string().min(1).max(256),
    grant_type: z.literal('urn:ietf:params:oauth:grant-type:device_code').optional(),
  })
  .strict();

export const UsageQuerySchema = z
  .object({
    group_by: z
      .string()
      .optional()
      .transform((s, ctx) => {
        const parts = s
          ? s
              .split(',')
              .map((p) => p.trim())
              .filter(Boolean)
          : [];
        for (const p of parts) {
          if (p !== 'key' && p !== 'node' && p !== 'model') {
            ctx.addIssue({ code: 'custom', message: `group_by accepts key, node and model, not '${p}'` });
            return z.NEVER;
          }
        }
        return [...new Set(parts)] as Array<'key' | 'node' | 'model'>;
      }),
    bucket: z.enum(['hour', 'day']).default('day'),
    since: z
      .string()
      .optional()
      .transform((s, ctx) => {
        if (s === undefined) return undefined;
        const ms = /^\d+$/.test(s) ? Number(s) * 1000 : Date.parse(s);
        if (!Number.isFinite(ms)) {
          ctx.addIssue({ code: 'custom', message: 'since must be unix seconds or an ISO 8601 date' });
          return z.NEVER;
        }
        return ms;
      }),
  })
  .strict();
export type UsageQuery = z.infer<typeof UsageQuerySchema>;
