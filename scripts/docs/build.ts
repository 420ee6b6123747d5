// wrangler.toml's [build] command: assembles the static site (web/ plus the docs) before every bundle.
import { fileURLToPath } from 'node:url';
import { buildSite } from './site';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { dir, files, pages } = buildSite(root);
console.log(`site: ${pages} docs pages, ${files} files in ${dir}`);
