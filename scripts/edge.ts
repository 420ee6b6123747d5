import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Log, LogLevel, Miniflare } from 'miniflare';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';

export interface EdgeOptions {
  root: string;
  /** 0 picks a free port. */
  port: number;
  /** Durable Object state directory; false keeps state in memory. */
  persistDir: string | false;
  /** Values for the Worker's vars and secrets, overriding wrangler.toml. */
  bindings: Record<string, string>;
  /** Where the bundle goes; a fresh temp dir under `.porten/build` by default. */
  buildDir?: string;
  /** A bundle made before (its `index.js` in `buildDir`): a restart then skips bundling. */
  prebuilt?: boolean;
  /**
   * false: no static assets (no docs, playground or dashboard). Miniflare emulates Cloudflare's asset routing with
   * three JavaScript workers in front of ours on every request, which production does not run (there, `/v1` goes
   * straight to the Worker: `run_worker_first`); the benchmarks measure the API without that emulation.
   */
  staticAssets?: boolean;
  /**
   * Opt-in: workerd's V8 inspector (Chrome DevTools Protocol) on this port, for CPU profiles of the edge under load
   * (bench/profile-edge.ts). Defaults to PORTEN_EDGE_INSPECTOR_PORT when set, so a stack started by a test or a
   * benchmark can be profiled without changing it; off otherwise.
   */
  inspectorPort?: number;
}

/**
 * Bundles the Worker exactly as `wrangler deploy` would (dry run), so what runs
 * locally is what ships.
 */
export async function bundleWorker(root: string, outDir: string): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  const wrangler = path.join(root, 'node_modules', '.bin', 'wrangler');
  const child = spawn(wrangler, ['deploy', '--dry-run', '--outdir', outDir, '--config', path.join(root, 'wrangler.toml')], {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`bundling the Worker failed (exit ${code}):\n${output}`);
  return path.join(outDir, 'index.js');
}

/**
 * The edge on local workerd through Miniflare, straight on the bundled Worker:
 * no wrangler-dev proxy in front (one hop and ~2 ms less per request, and no
 * devtools proxy to leak descriptors under load), no file watcher restarting
 * it mid-request. Bindings, Durable Objects (SQLite) and static assets come
 * from wrangler.toml.
 */
export async function startEdge(o: EdgeOptions): Promise<{ url: string; dispose(): Promise<void> }> {
  mkdirSync(path.join(o.root, '.porten'), { recursive: true });
  const buildDir = o.buildDir ?? mkdtempSync(path.join(o.root, '.porten', 'build-'));
  const script = o.prebuilt ? path.join(buildDir, 'index.js') : await bundleWorker(o.root, buildDir);
  const { workerOptions } = unstable_getMiniflareWorkerOptions(path.join(o.root, 'wrangler.toml'));
  const { main: _main, ...all } = workerOptions as typeof workerOptions & { main?: string };
  const { assets: _assets, ...apiOnly } = all;
  const options = o.staticAssets === false ? apiOnly : all;
  const inspector = o.inspectorPort ?? (process.env.PORTEN_EDGE_INSPECTOR_PORT ? Number(process.env.PORTEN_EDGE_INSPECTOR_PORT) : undefined);
  const mf = new Miniflare({
    host: '127.0.0.1',
    port: o.port,
    log: new Log(LogLevel.WARN),
    durableObjectsPersist: o.persistDir === false ? false : o.persistDir,
    ...(inspector === undefined ? {} : { inspectorPort: inspector }),
    workers: [
      {
        ...options,
        name: 'porten',
        modules: true,
        modulesRoot: buildDir,
        scriptPath: script,
        bindings: { ...(options.bindings ?? {}), ...o.bindings },
      },
    ],
  });
  const url = await mf.ready;
  return {
    url: url.origin,
    async dispose() {
      await mf.dispose();
      if (!o.buildDir) rmSync(buildDir, { recursive: true, force: true });
    },
  };
}
