import { TrustSchema, trustAtLeast, type Trust } from './trust';

/** The operator's record of a node: where it is, how far it is trusted, who owns it, and its caps. */
export interface NodeRecord {
  id: string;
  region: string;
  trust: Trust;
  owner: string | null;
  revoked: boolean;
  /** Operator caps on what the node may claim (null: only the fleet-wide ceilings). */
  max_budget_mb: number | null;
  max_concurrency: number | null;
}

/** A key's routing restrictions; null fields restrict nothing. */
export interface KeyScope {
  regions: string[] | null;
  owner: string | null;
  min_trust: Trust | null;
  /** True when `min_trust` is the fleet default rather than the key's own (said so in errors). */
  default_trust?: boolean;
}

/**
 * The minimum trust for keys that set none (the bootstrap key included), from
 * `PORTEN_DEFAULT_MIN_TRUST`. Default `verified`: a prompt reaches a community
 * node only through a key that says `min_trust: "community"`. An unreadable
 * value fails closed to `verified`.
 */
export const DEFAULT_MIN_TRUST: Trust = 'verified';

export function defaultMinTrust(value: string | undefined): { trust: Trust; error?: string } {
  if (value === undefined || value.trim() === '') return { trust: DEFAULT_MIN_TRUST };
  const parsed = TrustSchema.safeParse(value.trim());
  if (parsed.success) return { trust: parsed.data };
  return { trust: DEFAULT_MIN_TRUST, error: `PORTEN_DEFAULT_MIN_TRUST=${JSON.stringify(value)} is not a trust class; using '${DEFAULT_MIN_TRUST}'` };
}

/** A key's scope with the fleet default filled in where the key sets no `min_trust`; `scope` null is the bootstrap key. */
export function effectiveScope(scope: KeyScope | null, fallback: Trust): KeyScope {
  const base = scope ?? { regions: null, owner: null, min_trust: null };
  if (base.min_trust !== null) return base;
  return { ...base, min_trust: fallback, default_trust: true };
}

/** Nodes without a record (fleet-key nodes nobody configured) sit in the weakest, default place. */
export const DEFAULT_REGION = 'default';
export const DEFAULT_TRUST: Trust = 'community';

export function defaultRecord(id: string): NodeRecord {
  return { id, region: DEFAULT_REGION, trust: DEFAULT_TRUST, owner: null, revoked: false, max_budget_mb: null, max_concurrency: null };
}

export function restricts(scope: KeyScope | null): boolean {
  return !!scope && (!!scope.regions?.length || scope.owner !== null || scope.min_trust !== null);
}

/** Why a node may not serve a key's request, or null when it may. */
export function excludedBy(
  scope: KeyScope | null,
  node: Pick<NodeRecord, 'id' | 'region' | 'trust' | 'owner' | 'revoked'>,
): 'revoked' | 'region' | 'owner' | 'trust' | null {
  if (node.revoked) return 'revoked';
  if (!scope) return null;
  if (scope.regions?.length && !scope.regions.includes(node.region)) return 'region';
  if (scope.owner !== null && node.owner !== scope.owner) return 'owner';
  if (scope.min_trust !== null && !trustAtLeast(node.trust, scope.min_trust)) return 'trust';
  return null;
}

/** A human summary of a scope, for the 503 that says why nothing could serve. */
export function describeScope(scope: KeyScope): string {
  const parts: string[] = [];
  if (scope.regions?.length) parts.push(`region ${scope.regions.join(' or ')}`);
  if (scope.owner !== null) parts.push(`owner ${scope.owner}`);
  if (scope.min_trust !== null) {
    parts.push(
      scope.default_trust
        ? `trust ≥ ${scope.min_trust}, the fleet default for keys without min_trust (PORTEN_DEFAULT_MIN_TRUST)`
        : `trust ≥ ${scope.min_trust}`,
    );
  }
  return parts.join(', ');
}
