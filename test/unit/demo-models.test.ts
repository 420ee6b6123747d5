import { readFile, rm, stat, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG_PATH, DEMO_MODELS, ensureDemoModels, sha256File, type DemoModelFile } from '../../scripts/make-demo-models';

let dir: string;
let files: DemoModelFile[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'porten-demo-'));
  files = await ensureDemoModels(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ensureDemoModels', () => {
  it('generates the demo models (three chat, one embedding)', () => {
    expect(files.map((f) => f.id)).toEqual(['demo-small', 'demo-plain', 'demo-large', 'demo-embed']);
    expect(files.map((f) => f.file)).toEqual(DEMO_MODELS.map((m) => `${m.id}.gguf`));
  });

  it('produces exactly the sha256 and size recorded in catalog/models.json', async () => {
    const catalog = JSON.parse(await readFile(CATALOG_PATH, 'utf8')) as Array<{ id: string; weights: { url: string; sha256: string; bytes: number } }>;
    for (const f of files) {
      const entry = catalog.find((m) => m.id === f.id)!;
      expect(entry.weights.url).toBe(`demo://${f.file}`);
      expect({ sha256: f.sha256, bytes: f.bytes }).toEqual({ sha256: entry.weights.sha256, bytes: entry.weights.bytes });
      expect(await sha256File(f.path)).toBe(f.sha256);
      expect((await stat(f.path)).size).toBe(f.bytes);
    }
  });

  it('makes demo-large at least 64 MiB and the small ones under 1 MiB', () => {
    const by = Object.fromEntries(files.map((f) => [f.id, f.bytes]));
    expect(by['demo-large']).toBeGreaterThanOrEqual(64 * 1024 * 1024);
    expect(by['demo-small']).toBeLessThan(1024 * 1024);
    expect(files[0].sha256).not.toBe(files[1].sha256); // demo-plain: same shape, other seed
  });

  it('leaves matching files untouched on a second call', async () => {
    const before = await Promise.all(files.map((f) => stat(f.path).then((s) => s.mtimeMs)));
    const again = await ensureDemoModels(dir);
    expect(again).toEqual(files);
    expect(await Promise.all(files.map((f) => stat(f.path).then((s) => s.mtimeMs)))).toEqual(before);
  });

  it('regenerates a file whose content no longer matches', async () => {
    const small = files[0];
    const bytes = await readFile(small.path);
    bytes[bytes.length - 1] ^= 0xff; // same size, different digest
    await writeFile(small.path, bytes);
    const again = await ensureDemoModels(dir);
    expect(again[0].sha256).toBe(small.sha256);
    expect(await sha256File(small.path)).toBe(small.sha256);
  });
});
