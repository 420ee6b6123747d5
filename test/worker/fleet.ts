import type { Hub } from '../../src/hub/hub';
import { seedCatalog } from '../../src/hub/catalog';
import type { SecurityStore } from '../../src/hub/security-store';
import type { InventoryItem, NodeHello } from '../../src/protocol';

/**
 * Helpers for tests that play a node against the Hub directly. The Hub
 * believes a node's `loading`/`ready` only for loads it ordered or weights
 * verified against the catalog's sha256 (src/security/claims.ts), so a test
 * node that announces a loaded model also lists those weights, verified.
 */
export function verifiedInventory(loaded: NodeHello['loaded']): InventoryItem[] {
  const catalog = seedCatalog('http://demo.invalid').entries;
  return loaded.flatMap((l) => {
    const e = catalog.find((m) => m.id === l.model);
    return e?.weights.sha256 ? [{ model: l.model, bytes: e.weights.bytes ?? 1, sha256: e.weights.sha256 }] : [];
  });
}

/** Records that the Hub asked `node` to load `model`, as its planner does before sending `hub.load`. */
export function order(hub: Hub, node: string, model: string): void {
  (hub as unknown as { security: SecurityStore }).security.orderLoad(node, model, Date.now());
}

/** A node's hello with room for the demo models, announcing `loaded` with those weights verified (so the Hub believes it). */
export function verifiedHello(nodeId: string, loaded: NodeHello['loaded'] = []): NodeHello {
  return {
    type: 'node.hello',
    v: 1,
    node_id: nodeId,
    agent_version: 'test',
    vram_budget_mb: 2048,
    engines: ['builtin'],
    max_concurrency: 4,
    loaded,
    inventory: verifiedInventory(loaded),
  };
}
