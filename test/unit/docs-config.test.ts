import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// docs/configuration.md documents every variable and secret the edge reads: each `env.PORTEN_*` in src/, each
// [vars] entry of wrangler.toml, each secret declared in src/env.ts. A setting added without a line there fails.

const root = fileURLToPath(new URL('../..', import.meta.url));
const read = (rel: string) => readFileSync(path.join(root, rel), 'utf8');
const tsFiles = (dir: string): string[] =>
  readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );

const names = (text: string, re: RegExp) => [...text.matchAll(re)].map((m) => m[1]);
const documented = new Set(names(read('docs/configuration.md'), /^\|\s*`(PORTEN_[A-Z0-9_]+)`\s*\|/gm));

describe('docs/configuration.md', () => {
  it('documents every variable and secret the Worker reads', () => {
    const used = new Set(tsFiles('src').flatMap((f) => names(read(f), /env\.(PORTEN_[A-Z0-9_]+)/g)));
    expect(used.size).toBeGreaterThan(5);
    expect([...used].filter((n) => !documented.has(n))).toEqual([]);
  });

  it("documents every [vars] entry of wrangler.toml and every secret of the Worker's Env", () => {
    const toml = read('wrangler.toml');
    const start = toml.search(/^\[vars\]$/m);
    const vars = toml.slice(start, toml.indexOf('\n[', start + 1));
    const declared = [...names(vars, /^(PORTEN_[A-Z0-9_]+) = /gm), ...names(read('src/env.ts'), /^\s+(PORTEN_[A-Z0-9_]+)\?: string;/gm)];
    expect(declared).toEqual(expect.arrayContaining(['PORTEN_DEMO_ORIGIN', 'PORTEN_ADMIN_TOKEN']));
    expect(declared.filter((n) => !documented.has(n))).toEqual([]);
  });
});
