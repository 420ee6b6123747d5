import { trustAtLeast, type Trust } from './trust';

/** The operator's record of a node: where it is, how far it is trusted, who owns it. */
export interface NodeRecord {
  id: string;
  region: string;
  trust: Trust;
  owner: string | null;
  revoked: boolean;
}

/** A key's routing restrictions; null fields restrict nothing. */
export interface KeyScope {
  regions: string[] | null;
  owner: string | null;
  min_trust: Trust | null;
}

/** Nodes without a record (fleet-key nodes nobody configured) sit in the weakest, default place. */
export const DEFAULT_REGION = 'default';
export const DEFAULT_TRUST: Trust = 'community';

export function defaultRecord(id: string): NodeRecord {
  return { id, region: DEFAULT_REGION, trust: DEFAULT_TRUST, owner: null, revoked: false };
}

export function restricts(scope: KeyScope | null): boolean {
  return !!scope && (!!scope.regions?.length || scope.owner !== null || scope.min_trust !== null);
}

/** Why a node may not serve a key's request, or null when it may. */
export function excludedBy(scope: KeyScope | null, node: NodeRecord): 'revoked' | 'region' | 'owner' | 'trust' | null {
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
  if (scope.min_trust !== null) parts.push(`trust ≥ ${scope.min_trust}`);
  return parts.join(', ');
}
