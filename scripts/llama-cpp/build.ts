/**
 * Builds `llama-server` and `ggml-rpc-server` once from the llama.cpp source
 * node-llama-cpp ships, into `<cache>/llama.cpp/<tag>-<commit>/build`, and
 * prints where the binaries are. A second call (another clone, CI's next run)
 * finds the stamp and returns at once.
 *
 *   npm run llama:build            # build if needed, print the two paths
 *   npm run llama:build -- --json  # the same as {"llamaServer":…,"rpcServer":…}
 *
 * Concurrency: the build runs under a lock directory (`build.lock`, created
 * atomically with mkdir, holding the builder's pid); a second builder waits for
 * it and then finds the stamp. A lock whose pid is gone (a killed build) is
 * taken over; cmake resumes the half-built tree. The stamp is written last,
 * by rename, so no reader ever sees binaries from an unfinished build.
 *
 * Offline: no curl, no OpenSSL (the agent talks plain HTTP on 127.0.0.1), no
 * web UI (neither npm build nor the prebuilt download; the server runs with
 * `--no-webui`). Static libraries, so each binary stands alone.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type LlamaCppBinaries, llamaCppBinaries } from '../../nodes/engines/llama-server-binary';
import { ensureLlamaCppSource } from './source';

/** The configure flags; part of the stamp, so changing them rebuilds. */
export const CMAKE_FLAGS = [
  '-DCMAKE_BUILD_TYPE=Release',
  '-DGGML_RPC=ON',
  '-DBUILD_SHARED_LIBS=OFF',
  '-DLLAMA_BUILD_TESTS=OFF',
  '-DLLAMA_BUILD_EXAMPLES=OFF',
  '-DLLAMA_BUILD_TOOLS=ON',
  '-DLLAMA_BUILD_SERVER=ON',
  '-DLLAMA_OPENSSL=OFF',
  '-DLLAMA_BUILD_UI=OFF',
  '-DLLAMA_USE_PREBUILT_UI=OFF',
];
export const TARGETS = ['llama-server', 'ggml-rpc-server'];

function stampText(key: string): string {
  return `${JSON.stringify({ key, flags: CMAKE_FLAGS, targets: TARGETS })}\n`;
}

function isBuilt(bins: LlamaCppBinaries, key: string): boolean {
  if (!existsSync(bins.llamaServer) || !existsSync(bins.rpcServer) || !existsSync(bins.stamp)) return false;
  return readFileSync(bins.stamp, 'utf8') === stampText(key);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock or returns false when a live builder holds it. */
export function tryLock(lockDir: string): boolean {
  try {
    mkdirSync(lockDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const owner = Number.parseInt(readFileSafe(path.join(lockDir, 'pid')), 10);
    // A lock without a pid file is one being taken right now: treat it as live.
    if (!Number.isFinite(owner) || pidAlive(owner)) return false;
    // The builder died: take over (rename first so two takers cannot both win).
    const stale = `${lockDir}.stale-${process.pid}`;
    try {
      renameSync(lockDir, stale);
    } catch {
      return false;
    }
    rmSync(stale, { recursive: true, force: true });
    return tryLock(lockDir);
  }
  writeFileSync(path.join(lockDir, 'pid'), String(process.pid));
  return true;
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function run(cmd: string, args: string[], cwd: string, log: (line: string) => void): Promise<void> {
  log(`$ ${cmd} ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    // nice: the build shares the machine with tests and other work.
    const child = spawn('nice', ['-n', '5', cmd, ...args], { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args[0]} failed (${signal ?? `exit ${code}`})`))));
  });
}

export interface BuildOptions {
  env?: NodeJS.ProcessEnv;
  /** Progress lines (commands run, waiting for another builder); the compiler's own output goes to stdio. */
  log?: (line: string) => void;
}

/**
 * Returns the two binaries, building them first when the cache lacks them.
 * Jobs: `$PORTEN_LLAMA_BUILD_JOBS`, default 2.
 */
export async function ensureLlamaCppBuild(opts: BuildOptions = {}): Promise<LlamaCppBinaries & { built: boolean }> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((line: string) => process.stderr.write(`[llama:build] ${line}\n`));
  const src = ensureLlamaCppSource(env);
  const bins = llamaCppBinaries(src.buildDir);
  if (isBuilt(bins, src.key)) return { ...bins, built: false };

  const lockDir = `${src.buildDir}.lock`;
  let waited = false;
  while (!tryLock(lockDir)) {
    if (!waited) log(`another build holds ${lockDir}; waiting for it`);
    waited = true;
    await new Promise((r) => setTimeout(r, 2000));
  }
  try {
    // The builder we waited for may have finished the job.
    if (isBuilt(bins, src.key)) return { ...bins, built: false };
    const jobs = env.PORTEN_LLAMA_BUILD_JOBS || '2';
    const started = Date.now();
    await run('cmake', ['-S', src.dir, '-B', src.buildDir, '-G', 'Ninja', ...CMAKE_FLAGS], src.dir, log);
    await run('cmake', ['--build', src.buildDir, '-j', jobs, '--target', ...TARGETS], src.dir, log);
    const tmp = `${bins.stamp}.tmp-${process.pid}`;
    writeFileSync(tmp, stampText(src.key));
    renameSync(tmp, bins.stamp);
    log(`built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return { ...bins, built: true };
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = Date.now();
  ensureLlamaCppBuild()
    .then((bins) => {
      if (process.argv.includes('--json')) {
        process.stdout.write(`${JSON.stringify({ llamaServer: bins.llamaServer, rpcServer: bins.rpcServer })}\n`);
        return;
      }
      const how = bins.built ? 'built' : 'cached';
      process.stdout.write(
        `llama-server     ${bins.llamaServer}\nggml-rpc-server  ${bins.rpcServer}\n(${how}, ${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
      );
    })
    .catch((err: Error) => {
      process.stderr.write(`[llama:build] ${err.message}\n`);
      process.exit(1);
    });
}
