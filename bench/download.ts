import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ensureFile } from '../nodes/download';
import { ROOT } from '../scripts/stack';
import { makeTestCa, trustCa } from '../scripts/test-ca';
import { fmt, median } from './stats';

export interface LinkResult {
  /** null: unthrottled */
  rateMbps: number | null;
  curlMs: number[];
  agentMs: number[];
  /** the same downloader forced onto node:http (rawHttp: false) */
  agentNodeHttpMs: number[];
  ratio: number;
  /** CPU seconds (user + system) per run: curl + tee + sha256sum together, and the agent's process (all threads) */
  curlCpuS: number[];
  agentCpuS: number[];
}

export interface DownloadResult {
  sizeMb: number;
  rounds: number;
  links: LinkResult[];
  refetchAfterKillMb: number | null;
  segmentMb: number;
  sha256: { nodeMbPerS: number; sha256sumMbPerS: number };
}

const REPO_PATH = 'bench/weights/big.gguf';

/**
 * B4: the agent's downloader against curl on the same file, the way real weights arrive: an
 * `hf://` reference to the Hugging Face stand-in on https://localhost, which answers 302 (with
 * x-linked-etag) to its CDN stand-in on https://127.0.0.1 (both in their own process, TLS verified
 * against a CA made for the run). Both sides verify sha256: curl follows the redirect and pipes
 * through `tee` (the file) into `sha256sum`; the agent checks the digest against x-linked-etag
 * while writing. Interleaved rounds with the order rotated, unthrottled and with the CDN limited
 * to 1 Gbit/s; then bytes fetched twice after a SIGKILL at ~50 %, and the hashing rates.
 */
export async function downloadBench(quick: boolean): Promise<DownloadResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'porten-bench-dl-'));
  const sizeMb = quick ? 200 : 1024;
  const file = path.join(dir, 'origin', REPO_PATH);
  mkdirSync(path.dirname(file), { recursive: true });
  writeRandom(file, sizeMb);
  const sha = await sha256File(file);
  const ca = makeTestCa();
  writeFileSync(path.join(dir, 'key.pem'), ca.key);
  writeFileSync(path.join(dir, 'cert.pem'), ca.cert);
  const untrust = trustCa(ca.caPem);
  const origin = await startOriginProcess(path.join(dir, 'origin'), dir);
  const hfUrl = `hf://${REPO_PATH}`;
  const httpsUrl = `${origin.hf}/bench/weights/resolve/main/big.gguf`;
  try {
    const rounds = quick ? 2 : 3;
    const links: LinkResult[] = [];
    for (const rateMbps of [null, 1000]) {
      await origin.setRate(rateMbps);
      const curlMs: number[] = [];
      const agentMs: number[] = [];
      const agentNodeHttpMs: number[] = [];
      const curlCpuS: number[] = [];
      const agentCpuS: number[] = [];
      const runCurl = async () => {
        const out = path.join(dir, 'curl.out');
        const t0 = performance.now();
        // GNU time reports the CPU of the shell's children: curl, tee and sha256sum.
        const r = spawnSync(
          '/usr/bin/time',
          ['-f', 'cpu %U %S', 'sh', '-c', `curl -sSfL --cacert "$1" "$2" | tee "$3" | sha256sum`, 'sh', ca.caFile, httpsUrl, out],
          {
            encoding: 'utf8',
          },
        );
        curlMs.push(performance.now() - t0);
        const cpu = /cpu ([\d.]+) ([\d.]+)/.exec(r.stderr ?? '');
        if (r.status !== 0 || !cpu) throw new Error(`curl failed: ${r.stderr}`);
        curlCpuS.push(Number(cpu[1]) + Number(cpu[2]));
        const digest = r.stdout.split(' ')[0];
        if (digest !== sha) throw new Error(`curl got sha256 ${digest}, expected ${sha}`);
        rmSync(out, { force: true });
      };
      const agent = (rawHttp: boolean, into: number[]) => async () => {
        const dest = path.join(dir, 'agent.out');
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const r = await ensureFile({ url: hfUrl, dest, requireDigest: true, hf: { endpoint: origin.hf }, rawHttp });
        into.push(performance.now() - t0);
        const c = process.cpuUsage(c0);
        if (rawHttp) agentCpuS.push((c.user + c.system) / 1e6);
        if (r.sha256 !== sha) throw new Error(`agent verified ${r.sha256}, expected ${sha}`);
        for (const f of [dest, `${dest}.verified.json`]) rmSync(f, { force: true });
      };
      // Rotate the order each round so neither warm-up nor a neighbour's load favours one contender.
      const runs = [runCurl, agent(true, agentMs), agent(false, agentNodeHttpMs)];
      for (let r = 0; r < rounds; r++) for (let i = 0; i < runs.length; i++) await runs[(i + r) % runs.length]();
      links.push({ rateMbps, curlMs, agentMs, agentNodeHttpMs, ratio: median(curlMs) / median(agentMs), curlCpuS, agentCpuS });
    }
    await origin.setRate(null);
    const refetch = await killAndResume(origin, dir, ca.caFile, hfUrl, sha, sizeMb);
    const t0 = performance.now();
    await sha256File(file);
    const nodeMs = performance.now() - t0;
    const t1 = performance.now();
    execFileSync('sha256sum', [file]);
    const sumMs = performance.now() - t1;
    return {
      sizeMb,
      rounds,
      links,
      refetchAfterKillMb: refetch,
      segmentMb: sizeMb / 4,
      sha256: { nodeMbPerS: sizeMb / (nodeMs / 1000), sha256sumMbPerS: sizeMb / (sumMs / 1000) },
    };
  } finally {
    untrust();
    origin.stop();
    ca.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function downloadRows(r: DownloadResult): string {
  const mbps = (ms: number) => fmt(r.sizeMb / (ms / 1000), 0);
  return [
    '## B4 download (hf:// over https, redirected to a CDN host)',
    '',
    `A ${r.sizeMb} MB random file as \`hf://${REPO_PATH}\`: the Hugging Face stand-in on https://localhost answers 302 with x-linked-etag to its CDN stand-in on https://127.0.0.1 (both in their own process; TLS verified against a CA made for the run). curl: \`curl -sSfL --cacert CA URL | tee FILE | sha256sum\`. Agent: ensureFile, 4 kept-alive TLS connections taking 16 MB range pieces in file order from the CDN directly after the first redirect, sha256 in a worker thread checked against x-linked-etag. ${r.rounds} interleaved rounds per link, order rotated; medians.`,
    '',
    '| link | curl + sha256sum | agent | **agent / curl** (target ≥ 0.9) | CPU-s curl+tee+sha256sum / agent | agent on node:http |',
    '|---|---|---|---|---|---|',
    ...r.links.map(
      (l) =>
        `| ${l.rateMbps === null ? 'unthrottled (loopback)' : `${l.rateMbps / 1000} Gbit/s`} | ${fmt(median(l.curlMs), 0)} ms (${mbps(median(l.curlMs))} MB/s) | ${fmt(median(l.agentMs), 0)} ms (${mbps(median(l.agentMs))} MB/s) | **${fmt(l.ratio)}** | ${fmt(median(l.curlCpuS))} / ${fmt(median(l.agentCpuS))} | ${fmt(median(l.agentNodeHttpMs), 0)} ms, ratio ${fmt(median(l.curlMs) / median(l.agentNodeHttpMs))} |`,
    ),
    '',
    `Bytes fetched twice after SIGKILL at ~50 % (target < one segment: ${fmt(r.segmentMb, 0)} MB; pieces are 16 MB): ${r.refetchAfterKillMb === null ? 'n/a' : `${fmt(r.refetchAfterKillMb, 1)} MB`}. sha256 in Node vs sha256sum: ${fmt(r.sha256.nodeMbPerS, 0)} vs ${fmt(r.sha256.sha256sumMbPerS, 0)} MB/s.`,
  ].join('\n');
}

type Origin = Awaited<ReturnType<typeof startOriginProcess>>;

async function killAndResume(origin: Origin, dir: string, caFile: string, url: string, sha: string, sizeMb: number): Promise<number | null> {
  const dest = path.join(dir, 'resume.out');
  const before = (await origin.stats()).bytes;
  // Throttle to a ~2 s transfer so several 250 ms progress ticks pass and the kill lands near half way.
  await origin.setRate((sizeMb * 8 * 1.048576) / 2);
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/unit/helpers/download-child.ts'), url, dest, sha], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile, PORTEN_HF_ENDPOINT: origin.hf },
  });
  // Registered before anything can exit: waiting for 'exit' after it fired would hang the bench.
  const exited = new Promise((r) => child.once('exit', r));
  await new Promise<void>((resolve) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) {
        try {
          const p = JSON.parse(l) as { doneBytes?: number; totalBytes?: number };
          if (p.doneBytes && p.totalBytes && p.doneBytes >= p.totalBytes / 2) {
            child.kill('SIGKILL');
            resolve();
          }
        } catch {
          // not a progress line
        }
      }
    });
    child.once('exit', () => resolve());
  });
  await exited;
  await origin.setRate(null);
  await ensureFile({ url, dest, sha256: sha, bytes: sizeMb << 20, hf: { endpoint: origin.hf } });
  const served = (await origin.stats()).bytes - before;
  return (served - (sizeMb << 20)) / 2 ** 20;
}

function writeRandom(file: string, mb: number): void {
  const fd = openSync(file, 'w');
  const block = randomBytes(1 << 20);
  for (let i = 0; i < mb; i++) {
    block[i % block.length] ^= 0xff;
    writeSync(fd, block);
  }
  closeSync(fd);
  if (statSync(file).size !== mb << 20) throw new Error('short write');
}

function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file, { highWaterMark: 1 << 20 })
      .on('data', (d) => h.update(d))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}

/** The Hugging Face and CDN stand-ins in their own process, as real remote origins would be. */
async function startOriginProcess(originDir: string, dir: string) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'scripts/hf-origin.ts'), '--dir', originDir, '--key', path.join(dir, 'key.pem'), '--cert', path.join(dir, 'cert.pem')],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [hf, cdn] = await new Promise<[string, string]>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      const m = /hf origin at (\S+) cdn at (\S+)/.exec(d.toString());
      if (m) resolve([m[1], m[2]]);
    });
    child.once('exit', (code) => reject(new Error(`origin exited ${code}`)));
  });
  // The CDN's control endpoints (stats, rate) need no signature; fetch trusts the run's CA through trustCa.
  return {
    hf,
    stats: async () => (await (await fetch(`${cdn}/_stats`)).json()) as { bytes: number },
    setRate: async (mbps: number | null) => {
      const res = await fetch(`${cdn}/_rate`, { method: 'POST', body: JSON.stringify({ mbps }) });
      if (!res.ok) throw new Error(`cannot set the CDN's rate: HTTP ${res.status}`);
    },
    stop: () => child.kill('SIGTERM'),
  };
}
