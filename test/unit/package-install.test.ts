import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../../nodes/build.mjs';

// npm runs against the registry (or its cache) here: these take seconds each, not milliseconds.
/*
 * The agent installs anywhere, proven with npm itself: `npm install --dry-run` with npm's
 * --os/--cpu/--libc flags (they pick the optional platform binaries) and, for the checks npm makes
 * on required packages (EBADPLATFORM, decided from the running machine), a preload that makes npm
 * see the target machine (test/support/fake-platform.cjs: the STAND-IN for a Mac, a Windows box,
 * an ARM or musl board). Packages come from the npm registry or its local cache.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FAKE = path.join(ROOT, 'test/support/fake-platform.cjs');
// npm's own CLI script (the `npm` on PATH links to it), so the preload can run inside npm's process.
const NPM_CLI = realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
const tmp = mkdtempSync(path.join(os.tmpdir(), 'porten-install-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Target {
  os: string;
  cpu: string;
  libc?: string;
}
const TARGETS: Target[] = [
  { os: 'linux', cpu: 'x64', libc: 'glibc' },
  { os: 'linux', cpu: 'arm64', libc: 'glibc' },
  { os: 'linux', cpu: 'x64', libc: 'musl' },
  { os: 'linux', cpu: 'arm64', libc: 'musl' },
  { os: 'darwin', cpu: 'arm64' },
  { os: 'darwin', cpu: 'x64' },
  { os: 'win32', cpu: 'x64' },
];
const name = (t: Target) => `${t.os}-${t.cpu}${t.libc ? `-${t.libc}` : ''}`;

/** npm install --dry-run in `dir` as npm on `t` would run it: exit code, the packages it would add, its errors. */
function dryRun(dir: string, t: Target, extra: string[] = []) {
  const flags = ['--os', t.os, '--cpu', t.cpu, ...(t.libc ? ['--libc', t.libc] : [])];
  const r = spawnSync(process.execPath, ['-r', FAKE, NPM_CLI, 'install', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund', ...flags, ...extra], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, PORTEN_FAKE_OS: t.os, PORTEN_FAKE_CPU: t.cpu, PORTEN_FAKE_LIBC: t.libc ?? '' },
    timeout: 180_000,
  });
  const added = [...r.stdout.matchAll(/^add (\S+) /gm)].map((m) => m[1]);
  return { status: r.status, added, out: `${r.stdout}\n${r.stderr}` };
}

/** What npm's own rule (npm-install-checks) would install of node-llama-cpp's binaries on `t`, from their metadata in the lock. */
function expectedBinaries(lock: { packages: Record<string, { os?: string[]; cpu?: string[]; libc?: string[] }> }, t: Target): string[] {
  const ok = (list: string[] | undefined, v: string | undefined) => !list || (v !== undefined && list.includes(v));
  return Object.entries(lock.packages)
    .filter(([k]) => k.startsWith('node_modules/@node-llama-cpp/'))
    .filter(([, p]) => ok(p.os, t.os) && ok(p.cpu, t.cpu) && (!p.libc || ok(p.libc, t.libc)))
    .map(([k]) => k.slice('node_modules/'.length))
    .sort();
}

describe('npm install on every platform', () => {
  const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
  const repo = path.join(tmp, 'repo');

  beforeAll(async () => {
    for (const d of ['repo', 'agent', 'old']) execFileSync('mkdir', ['-p', path.join(tmp, d)]);
    copyFileSync(path.join(ROOT, 'package.json'), path.join(repo, 'package.json'));
    copyFileSync(path.join(ROOT, 'package-lock.json'), path.join(repo, 'package-lock.json'));
    // The agent's own dependency list (its package has no os/cpu of its own). A `file:` tarball spec
    // cannot be used here: with win32 faked, npm would read the POSIX path as a Windows one.
    const agentPkg = JSON.parse(readFileSync(path.join(ROOT, 'nodes', 'package.json'), 'utf8'));
    writeFileSync(path.join(tmp, 'agent', 'package.json'), JSON.stringify({ name: 'agent-install', private: true, dependencies: agentPkg.dependencies }));
  });

  it.each(TARGETS.map((t) => [name(t), t] as const))(
    'the repository installs on %s, with only that platform’s binaries',
    (_n, t) => {
      const r = dryRun(repo, t);
      expect(r.out).not.toMatch(/EBADPLATFORM/);
      expect(r.status, r.out).toBe(0);
      expect(r.added.filter((p) => p.startsWith('@node-llama-cpp/')).sort()).toEqual(expectedBinaries(lock, t));
      expect(r.added).toContain('node-llama-cpp');
    },
    180_000,
  );

  it.each(TARGETS.map((t) => [name(t), t] as const))(
    'the agent package’s dependencies install on %s',
    (_n, t) => {
      const r = dryRun(path.join(tmp, 'agent'), t);
      expect(r.out).not.toMatch(/EBADPLATFORM/);
      expect(r.status, r.out).toBe(0);
      expect(r.added).toEqual(expect.arrayContaining(['node-llama-cpp', 'ws', 'zod']));
      expect(r.added.filter((p) => p.startsWith('@node-llama-cpp/')).sort()).toEqual(expectedBinaries(lock, t));
    },
    180_000,
  );

  it('the agent declares the same versions as the repository installs (one lock for both)', () => {
    const agentPkg = JSON.parse(readFileSync(path.join(ROOT, 'nodes', 'package.json'), 'utf8'));
    const rootPkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    for (const [dep, version] of Object.entries(agentPkg.dependencies)) expect(rootPkg.dependencies[dep], dep).toBe(version);
    expect(Object.keys(rootPkg.dependencies).filter((d) => d.startsWith('@node-llama-cpp/'))).toEqual([]);
  });

  it('the harness is a real check: the old layout (a platform binary as a direct dependency) fails on a Mac', () => {
    const old = path.join(tmp, 'old');
    writeFileSync(
      path.join(old, 'package.json'),
      JSON.stringify({ name: 'old', private: true, dependencies: { '@node-llama-cpp/linux-x64': '3.22.1', 'node-llama-cpp': '3.22.1' } }),
    );
    const r = dryRun(old, { os: 'darwin', cpu: 'arm64' });
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/EBADPLATFORM/);
  }, 180_000);
});

describe('the packed agent', () => {
  it('contains the compiled agent only, installs into an empty folder, and runs `porten --version`, `porten help run` and `porten help worker`', async () => {
    await ensureBuilt();
    const pack = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: path.join(ROOT, 'nodes'), encoding: 'utf8' }))[0];
    const files = pack.files.map((f: { path: string }) => f.path).sort();
    expect(files).toEqual([
      'bin/porten.js',
      'dist/agent/hardware-probe.mjs',
      'dist/cli.js',
      'dist/download/hash-worker.mjs',
      'dist/engines/builtin/server.js',
      'dist/engines/llama-server-watch.mjs',
      'dist/engines/parent-watch.mjs',
      'package.json',
    ]);
    const empty = mkdtempSync(path.join(tmp, 'empty-'));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(tmp, pack.filename)], {
      cwd: empty,
      stdio: 'pipe',
      timeout: 240_000,
    });
    const bin = realpathSync(path.join(empty, 'node_modules', '.bin', 'porten'));
    expect(bin).toBe(path.join(empty, 'node_modules', 'porten', 'bin', 'porten.js'));
    const version = execFileSync(bin, ['--version'], { encoding: 'utf8', cwd: empty });
    expect(version).toMatch(/^porten 0\.1\.0 \(protocol v1; node v/);
    const help = execFileSync(bin, ['help', 'run'], { encoding: 'utf8', cwd: empty });
    expect(help).toMatch(/^Usage: porten run \[flags\]/);
    expect(help).toMatch(/--gguf-engine NAME .*PORTEN_GGUF_ENGINE/);
    expect(help).toMatch(/--rpc-workers LIST .*PORTEN_RPC_WORKERS/);
    const workerHelp = execFileSync(bin, ['help', 'worker'], { encoding: 'utf8', cwd: empty });
    expect(workerHelp).toMatch(/^Usage: porten worker \[flags\]/);
    for (const f of ['--host ADDR', '--port N', '--device LIST', '--memory-mb N', '--threads N']) expect(workerHelp).toContain(f);
    // The llama.cpp paths run compiled too: each names the binary it lacks and exits 2 (usage), no stack trace.
    const missing = path.join(empty, 'no-such-binary');
    const worker = spawnSync(bin, ['worker'], { encoding: 'utf8', cwd: empty, env: { ...process.env, PORTEN_GGML_RPC_SERVER: missing } });
    expect([worker.status, worker.stderr.trim()]).toEqual([2, `porten worker: PORTEN_GGML_RPC_SERVER: ${missing} is not an executable file`]);
    const run = spawnSync(bin, ['run', '--gguf-engine', 'llama-server', '--llama-server', missing], {
      encoding: 'utf8',
      cwd: empty,
      env: { ...process.env, PORTEN_NODE_KEY: 'k' },
    });
    expect([run.status, run.stderr.trim()]).toEqual([
      2,
      `porten run: --gguf-engine llama-server: --llama-server / PORTEN_LLAMA_SERVER: ${missing} is not an executable file`,
    ]);
    // No TypeScript and no tsx at run time: the installed package has neither.
    expect(spawnSync('node', ['-e', 'require.resolve("tsx")'], { cwd: path.join(empty, 'node_modules', 'porten') }).status).not.toBe(0);
  }, 300_000);
});
