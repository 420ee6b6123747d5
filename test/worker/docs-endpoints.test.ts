import { describe, expect, it } from 'vitest';
import { ENDPOINTS } from '../../scripts/docs/endpoints';
import { createApp } from '../../src/app';

// docs/api.md's endpoint table is generated from scripts/docs/endpoints.ts; this keeps that list equal to the
// routes the Worker really registers, so the reference can neither miss a route nor document one that is gone.

/** Hono's `/v1/models/:id{.+}` as the docs write it: `/v1/models/{id}`. */
const docPath = (honoPath: string) => honoPath.replace(/:([a-zA-Z_]+)(\{[^}]*\})?/g, '{$1}');

describe('API reference endpoints', () => {
  it('lists exactly the routes the Worker registers', () => {
    const registered = createApp()
      .routes.filter((r) => r.method !== 'ALL')
      .map((r) => `${r.method} ${docPath(r.path)}`);
    const documented = ENDPOINTS.map((e) => `${e.method} ${e.path}`);
    expect(new Set(registered).size).toBeGreaterThan(20);
    expect([...new Set(documented)].sort()).toEqual([...new Set(registered)].sort());
    expect(documented.length).toBe(new Set(documented).size);
  });
});
