import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { statSync } from 'node:fs';
import { ensureDemoModels, REPO_ROOT } from '../../scripts/make-demo-models';
import { startDemoOrigin, type DemoOrigin } from '../../scripts/demo-origin';
import { ggufFootprint } from '../../scripts/footprint';

const dir = process.env.PORTEN_DEMO_MODELS_DIR || path.join(REPO_ROOT, '.porten', 'demo-models');
let origin: DemoOrigin;

beforeAll(async () => {
  await ensureDemoModels(dir);
  origin = await startDemoOrigin({ dir });
});
afterAll(async () => origin?.close());

describe('footprint from a GGUF header', () => {
  it('reads the hyperparameters the demo generator wrote and adds weights, KV cache and overhead', async () => {
    const file = path.join(dir, 'demo-large.gguf');
    const r = await ggufFootprint(file, 512, 0);
    expect(r.meta).toMatchObject({ nLayer: 5, nEmbd: 512, nHead: r.meta.nHead });
    expect(r.meta.weightsBytes).toBeGreaterThan(0.99 * statSync(file).size);
    expect(r.meta.weightsBytes).toBeLessThan(statSync(file).size);
    const kv = 2 * 5 * 512 * 512 * 2;
    expect(r.vramMb).toBe(Math.ceil((r.meta.weightsBytes + kv) / 2 ** 20));
    expect((await ggufFootprint(file, 512, 512)).vramMb).toBe(r.vramMb + 512);
  });

  it('reads a remote header with range requests instead of downloading the file', async () => {
    origin.resetStats();
    const r = await ggufFootprint(`${origin.url}/demo-large.gguf`, 512, 0);
    expect(r.meta.nLayer).toBe(5);
    expect(origin.stats().bytes).toBeLessThan(statSync(path.join(dir, 'demo-large.gguf')).size / 10);
  });
});
