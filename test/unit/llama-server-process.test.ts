import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoModels, defaultDemoModelsDir } from '../../scripts/make-demo-models';
import { ensureLlamaCppBuild } from '../../scripts/llama-cpp/build';
import { llamaServerSpec } from '../../nodes/engines/llama-server';
import { Supervisor } from '../../nodes/engines/supervisor';
import type { ParentWatch } from '../../nodes/engines/llama-server-args';

/**
 * The llama-server engine under the real supervisor, on the binary that
 * `npm run llama:build` makes (built here when missing): ready with measured
 * memory and template capabilities, graceful stop, crash detection, and the
 * engine ending when its agent is SIGKILLed (both parent-death watches).
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let binary: string;
let modelPath: string;

beforeAll(async () => {
  binary = (await ensureLlamaCppBuild()).llamaServer;
  const models = await ensureDemoModels(defaultDemoModelsDir());
  modelPath = models.find((m) => m.id === 'demo-small')!.path;
}, 1_800_000);

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

async function until(what: string, probe: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Pids of processes whose command line contains `needle` (this test's own port keeps them apart). */
function pidsWith(needle: string): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes(needle) && l.includes('llama-server') && !l.includes('ps -eo'))
    .map((l) => Number(l.trim().split(/\s+/)[0]))
    .filter(isAlive);
}

describe('llama-server engine process', () => {
  const sup: Supervisor[] = [];
  afterAll(async () => {
    await Promise.all(sup.map((s) => s.stop()));
  });

  it('becomes ready with measured memory and the template caps, answers, and stops gracefully', async () => {
    const spec = llamaServerSpec({ binary, modelPath, model: 'demo-small', contextLength: 256, threads: 1, parallel: 2 });
    const s = new Supervisor(spec, { onOutput: spec.onOutput });
    sup.push(s);
    const { baseUrl, vramMb } = await s.ensureReady();
    expect(s.state).toBe('ready');
    // demo-small: 0.5 MB of weights, 2 slots × 256 cells of KV, compute buffers.
    expect(vramMb).toBeGreaterThan(0);
    expect(vramMb).toBeLessThan(64);
    expect(spec.runtime.caps).toMatchObject({ supports_tools: false });
    const res = await fetch(`${baseUrl}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'demo-small', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, seed: 1 }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { model: string }).model).toBe('demo-small');
    const pid = s.pid!;
    await s.stop();
    expect(s.state).toBe('stopped');
    await until('llama-server to exit', () => !isAlive(pid));
  });

  it('reports a crash (SIGKILL) as failed and calls onCrash', async () => {
    let crashed = '';
    const spec = llamaServerSpec({ binary, modelPath, model: 'demo-small', contextLength: 256, threads: 1, parallel: 1 });
    const s = new Supervisor(spec, { onOutput: spec.onOutput, onCrash: (r) => (crashed = r) });
    sup.push(s);
    await s.ensureReady();
    // The supervisor's child is setpriv's exec'd llama-server (same pid) or the Node watcher.
    process.kill(-s.pid!, 'SIGKILL');
    await until('the crash to be seen', () => s.state === 'failed');
    expect(crashed).toMatch(/engine exited/);
  });

  const watches: Array<[string, ParentWatch]> = [
    ['setpriv --pdeathsig', { kind: 'pdeathsig', setpriv: '/usr/bin/setpriv' }],
    ['the Node watcher', { kind: 'node', execPath: process.execPath, script: path.join(ROOT, 'nodes/engines/llama-server-watch.mjs') }],
  ];
  it.each(watches)('ends with its agent when the agent is SIGKILLed (%s)', async (_name, watch) => {
    // A stand-in agent: a Node process that starts the engine the way the supervisor does, then is killed.
    const port = 20000 + Math.floor(Math.random() * 20000);
    const spec = llamaServerSpec({ binary, modelPath, model: 'demo-small', contextLength: 128, threads: 1, parallel: 1 }, watch);
    const c = spec.command!(port);
    const script = `
      const { spawn } = require('node:child_process');
      const c = ${JSON.stringify(c)};
      spawn(c.cmd, c.args, { env: { ...process.env, ...c.env, PORTEN_PARENT_PID: String(process.pid) }, stdio: 'ignore', detached: true });
      setInterval(() => {}, 1000);
    `;
    const agent = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
    await until('the engine to start', () => pidsWith(`--port ${port}`).length > 0);
    const engines = pidsWith(`--port ${port}`);
    agent.kill('SIGKILL');
    await until('the engine to end with its agent', () => engines.every((p) => !isAlive(p)));
  });
});
