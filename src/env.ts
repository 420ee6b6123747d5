/**
 * Bindings and variables of the edge Worker. What wrangler.toml declares (the Durable Object namespaces and every
 * [vars] entry) comes from `Cloudflare.Env` in worker-configuration.d.ts, which `npm run types` generates with
 * `wrangler types` (CI fails when it is stale). Secrets are not in wrangler.toml, so they are declared here; each is
 * optional, and docs/configuration.md says what its absence means.
 */
export interface Env extends Cloudflare.Env {
  /** Unrestricted bootstrap key for /v1/*; managed keys come from /admin/v1/keys. */
  PORTEN_API_KEY?: string;
  /** Bearer token for /admin/v1/*; without it the admin API answers 503 admin_disabled. */
  PORTEN_ADMIN_TOKEN?: string;
  /** Fleet key for development agents; unset in production (per-node keys only). */
  PORTEN_NODE_KEY?: string;
}
