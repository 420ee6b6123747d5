import type { Hub } from './hub/hub';
import type { NodeLink } from './link/node-link';

/** Bindings and variables of the edge Worker (see wrangler.toml). */
export interface Env {
  HUB: DurableObjectNamespace<Hub>;
  NODE_LINK: DurableObjectNamespace<NodeLink>;
  PORTEN_API_KEY?: string;
  PORTEN_ADMIN_TOKEN?: string;
  PORTEN_NODE_KEY?: string;
  PORTEN_DEMO_ORIGIN?: string;
  PORTEN_WARMUP_BUDGET_S?: string;
  PORTEN_DEMAND_WINDOW_S?: string;
  /** Seconds between an enrolling agent's polls (RFC 8628 `interval`); default 5. */
  PORTEN_ENROLL_INTERVAL_S?: string;
}
