/**
 * Generated regions inside a hand-written page: everything between
 * `<!-- generated:NAME (npm run docs) -->` and `<!-- /generated:NAME -->` belongs to the generator. The markers are
 * HTML comments, so GitHub and the edge's HTML pages show neither.
 */
const open = (name: string) => `<!-- generated:${name} (npm run docs) -->`;
const close = (name: string) => `<!-- /generated:${name} -->`;

/** The page with region `name` replaced by `body`; throws when the page lacks the markers. */
export function replaceRegion(page: string, name: string, body: string): string {
  const start = page.indexOf(open(name));
  const end = page.indexOf(close(name));
  if (start < 0 || end < start) throw new Error(`no generated region '${name}' (markers ${open(name)} … ${close(name)})`);
  return `${page.slice(0, start)}${open(name)}\n${body.trim()}\n${page.slice(end)}`;
}
