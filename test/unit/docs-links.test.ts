import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { headings, linkTargets } from '../../scripts/docs/markdown';

// Every link in README.md and docs/ resolves inside the repository: files exist, anchors name a heading (GitHub's
// slugs, which the HTML pages use too). Nothing links outside the repository; public endpoints are named as text.
// Links from docs/ stay inside docs/, so they also work on the edge's /docs/ pages.

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Pages another branch of this round is writing (their names are agreed). A link to one passes only while it is
 * absent; once the page exists its links are checked like any other and its name must be removed from here.
 */
const PENDING_PAGES: string[] = [];

const docsDir = path.join(root, 'docs');
const files = [
  'README.md',
  ...readdirSync(docsDir)
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const anchorsOf = new Map<string, Set<string>>();
const anchors = (file: string) => {
  let set = anchorsOf.get(file);
  if (!set) anchorsOf.set(file, (set = new Set(headings(readFileSync(file, 'utf8')).map((h) => h.slug))));
  return set;
};

/** What is wrong with the links of `rel` (its committed text, or `md` as if it were that file). */
function problems(rel: string, md = readFileSync(path.join(root, rel), 'utf8')): string[] {
  const file = path.join(root, rel);
  const out: string[] = [];
  for (const { href } of linkTargets(md)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('//')) {
      out.push(`${href}: links outside the repository`);
      continue;
    }
    const [target, anchor] = href.split('#', 2) as [string, string | undefined];
    if (!target) {
      if (!headings(md).some((h) => h.slug === anchor)) out.push(`${href}: no heading with anchor ${href}`);
      continue;
    }
    const dest = path.resolve(path.dirname(file), decodeURIComponent(target));
    if (rel.startsWith('docs/') && !dest.startsWith(docsDir + path.sep)) {
      out.push(`${href}: a docs page may link only inside docs/ (the edge serves nothing else)`);
      continue;
    }
    const pending = path.dirname(dest) === docsDir && PENDING_PAGES.includes(path.basename(dest));
    if (!existsSync(dest)) {
      if (!pending) out.push(`${href}: no such file`);
      continue;
    }
    if (anchor !== undefined) {
      if (!dest.endsWith('.md') || statSync(dest).isDirectory()) out.push(`${href}: an anchor into a file that is not markdown`);
      else if (!anchors(dest).has(anchor)) out.push(`${href}: no heading with anchor #${anchor}`);
    }
  }
  return out;
}

describe('links in README.md and docs/', () => {
  for (const rel of files) {
    it(`${rel}: every link resolves`, () => {
      expect(problems(rel)).toEqual([]);
    });
  }

  it('lists as pending only pages that do not exist yet', () => {
    expect(PENDING_PAGES.filter((p) => existsSync(path.join(docsDir, p)))).toEqual([]);
  });

  it('reports each kind of broken link (the checker itself)', () => {
    const md = [
      '[ok](hardware.md#what-fits-where) [ok](#links) [pending](models.md) ![ok](images/playground.png)',
      '[ext](https://example.com) [gone](nope.md) [anchor](hardware.md#no-such-heading) [out](../src/errors.ts)',
      '`[not a link](nope.md)`',
      '## Links',
    ].join('\n\n');
    expect(problems('docs/fixture.md', md)).toEqual([
      'https://example.com: links outside the repository',
      'nope.md: no such file',
      'hardware.md#no-such-heading: no heading with anchor #no-such-heading',
      '../src/errors.ts: a docs page may link only inside docs/ (the edge serves nothing else)',
    ]);
    expect(problems('README.md', '[src](src/errors.ts) [doc](docs/hardware.md#memory-per-model) [bad](docs/hardware.md#nope)')).toEqual([
      'docs/hardware.md#nope: no heading with anchor #nope',
    ]);
  });
});
