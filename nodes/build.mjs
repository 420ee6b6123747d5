// Builds the node agent into nodes/dist/ (compiled JavaScript: no tsx at run time) and keeps it fresh.
//
//   node nodes/build.mjs          build if anything changed (prints what it did)
//   node nodes/build.mjs --force  build unconditionally
//
// Plain JavaScript so the bin can call it from a source checkout before any build exists.
// The published package ships dist/ only; this file is for the repository.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const NODES = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(NODES);
export const DIST = path.join(NODES, 'dist');
const STAMP = path.join(DIST, '.stamp');
const LOCK = path.join(DIST, '.build-lock');

/** TypeScript entry points → output paths under dist/ (the bundle keeps the source layout for these). */
const ENTRIES = {
  cli: 'cli.ts',
  'engines/builtin/server': 'engines/builtin/server.ts',
};
/** Plain JavaScript run as separate processes or threads: copied as they are, same relative path. */
const COPIED = ['engines/parent-watch.mjs', 'engines/llama-server-watch.mjs', 'agent/hardware-probe.mjs', 'download/hash-worker.mjs'];
/** Everything a build reads: the agent's sources and the wire protocol it shares with the edge. */
const INPUT_DIRS = [NODES, path.join(ROOT, 'src', 'protocol')];

async function listInputs(dir, out = []) {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name === 'dist' || e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) await listInputs(full, out);
    else if (/\.(ts|mjs|json)$/.test(e.name)) out.push(full);
  }
  return out;
}

/** Fingerprint of the inputs (paths, sizes, mtimes): any edit, addition or removal changes it. */
export async function inputStamp() {
  const files = (await Promise.all(INPUT_DIRS.map((d) => listInputs(d)))).flat().sort();
  const h = createHash('sha256');
  for (const f of files) {
    const s = await stat(f);
    h.update(`${path.relative(ROOT, f)}\0${s.size}\0${s.mtimeMs}\n`);
  }
  return h.digest('hex');
}

async function readStamp() {
  return readFile(STAMP, 'utf8').catch(() => '');
}

/** Writes a file so that a concurrent reader sees the old or the new content, never half of it. */
async function writeAtomic(file, data) {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

/** One build: bundles the TypeScript entries with esbuild (dependencies stay external), copies the plain JS files. */
export async function build() {
  const started = performance.now();
  const stamp = await inputStamp();
  const esbuild = await import('esbuild');
  const pkg = JSON.parse(await readFile(path.join(NODES, 'package.json'), 'utf8'));
  const result = await esbuild.build({
    absWorkingDir: NODES,
    entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([out, src]) => [out, path.join(NODES, src)])),
    outdir: DIST,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    // Runtime dependencies resolve from node_modules as in any installed package.
    external: Object.keys(pkg.dependencies ?? {}),
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
  });
  for (const f of result.outputFiles) await writeAtomic(f.path, f.contents);
  for (const rel of COPIED) {
    const dest = path.join(DIST, rel);
    await mkdir(path.dirname(dest), { recursive: true });
    await copyFile(path.join(NODES, rel), `${dest}.${process.pid}.tmp`);
    await rename(`${dest}.${process.pid}.tmp`, dest);
  }
  await writeAtomic(STAMP, stamp);
  return { ms: Math.round(performance.now() - started), files: result.outputFiles.length + COPIED.length };
}

/**
 * Builds when the inputs changed since the last build, else returns at once (a few ms: one stat per
 * source file). Safe to call from many processes at once: one builds under a lock directory, the others
 * wait for it and then find the stamp fresh. Returns null when nothing had to be done.
 */
export async function ensureBuilt({ force = false } = {}) {
  if (!force && (await readStamp()) === (await inputStamp())) return null;
  await mkdir(DIST, { recursive: true });
  for (;;) {
    try {
      await mkdir(LOCK);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      // A builder killed mid-build leaves its lock behind; a build takes well under a second.
      const age =
        Date.now() -
        (await stat(LOCK).then(
          (s) => s.mtimeMs,
          () => Date.now(),
        ));
      if (age > 30_000) await rm(LOCK, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  try {
    if (!force && (await readStamp()) === (await inputStamp())) return null;
    return await build();
  } finally {
    await rm(LOCK, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const r = await ensureBuilt({ force: process.argv.includes('--force') });
  process.stdout.write(
    r ? `porten agent built into ${path.relative(process.cwd(), DIST) || DIST} (${r.files} files, ${r.ms} ms)\n` : 'porten agent is up to date\n',
  );
}
