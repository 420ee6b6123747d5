/**
 * Which methods a path answers, from the app's own route table, so a wrong
 * method on a known route gets 405 with `Allow` (and OPTIONS its `Allow`)
 * instead of a 404 that suggests the route does not exist. Pure: built once
 * from Hono's `app.routes`.
 */
export interface RouteLike {
  method: string;
  path: string;
}

/** Hono path syntax (`/v1/models/:id{.+}`, `/admin/v1/keys/:id`, `*`) → an anchored RegExp. */
export function pathPattern(path: string): RegExp {
  let re = '';
  const token = /:([A-Za-z0-9_]+)(\{((?:[^{}]|\{[^{}]*\})+)\})?|\*/g;
  let at = 0;
  for (let m = token.exec(path); m; m = token.exec(path)) {
    re += escapeRegExp(path.slice(at, m.index));
    re += m[0] === '*' ? '.*' : m[3] ? `(?:${m[3]})` : '[^/]+';
    at = m.index + m[0].length;
  }
  re += escapeRegExp(path.slice(at));
  return new RegExp(`^${re}$`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A lookup: path → the methods some route answers there (HEAD with GET), sorted; empty for unknown paths. */
export function allowedMethods(routes: readonly RouteLike[]): (path: string) => string[] {
  const table = routes.filter((r) => r.method !== 'ALL').map((r) => ({ method: r.method.toUpperCase(), re: pathPattern(r.path) }));
  return (path) => {
    const methods = new Set<string>();
    for (const r of table) {
      if (!r.re.test(path)) continue;
      methods.add(r.method);
      if (r.method === 'GET') methods.add('HEAD');
    }
    return [...methods].sort();
  };
}
