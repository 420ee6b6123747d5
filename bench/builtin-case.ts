import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../scripts/stack';
import { freePort } from '../nodes/engines/ports';
import { bootBenchStack } from './stack';
import { overhead, overheadRow, type OverheadResult } from './overhead';

/**
 * B2, realistic case: the builtin engine with demo-small, through the edge
 * (the agent's engine) against a second builtin engine on the same weights
 * called directly, interleaved. Real token pacing makes the inter-chunk gap
 * measurable, and a fixed seed lets the contents be compared byte for byte.
 */
export async function builtinCase(quick: boolean): Promise<OverheadResult[]> {
  const b = await bootBenchStack();
  const port = await freePort();
  const engine = spawn(
    process.execPath,
    [
      // The compiled engine, as the agent runs it (bootBenchStack has just made sure nodes/dist is fresh).
      path.join(ROOT, 'nodes/dist/engines/builtin/server.js'),
      '--model',
      path.join(ROOT, '.porten/demo-models/demo-small.gguf'),
      '--port',
      String(port),
      '--ctx',
      '512',
      '--threads',
      '1',
      '--parallel',
      '4',
      '--name',
      'demo-small',
    ],
    { cwd: ROOT, stdio: 'ignore' },
  );
  try {
    for (let i = 0; ; i++) {
      const ok = await fetch(`http://127.0.0.1:${port}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (i > 300) throw new Error('direct builtin engine did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const edge = { ...b.edge, model: 'demo-small' };
    const direct = { url: `http://127.0.0.1:${port}`, headers: {}, model: 'demo-small' };
    const rounds = quick ? 20 : 100;
    return [await overhead('B2 builtin demo-small, 32 tokens', direct, edge, { stream: true, rounds, warmup: 5, concurrency: 1, chunks: 32 })];
  } finally {
    engine.kill('SIGTERM');
    await b.stop();
  }
}

export function builtinRows(results: OverheadResult[]): string {
  return [
    '## B2 realistic case (builtin engine, demo-small)',
    '',
    "The same measurement with a real engine: the agent's builtin engine through the edge against a second builtin engine on the same weights, called directly; fixed seed per round, so the answers must match byte for byte.",
    '',
    '| benchmark | concurrency | rounds | direct | edge | added | inter-chunk gap added | identical content |',
    '|---|---|---|---|---|---|---|---|',
    ...results.map(overheadRow),
  ].join('\n');
}
