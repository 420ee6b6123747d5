import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startDemoOrigin, type DemoOrigin } from '../../../scripts/demo-origin';

export interface DownloadFixture {
  root: string;
  origin: DemoOrigin;
  /** path of the file on the origin, as in its stats */
  name: string;
  url: string;
  dest: string;
  size: number;
  sha: string;
  data: Buffer;
  /** true when dest holds exactly the origin's bytes */
  destMatches(): Promise<boolean>;
  cleanup(): Promise<void>;
}

/** Fast retries for tests: faults recover in milliseconds, not seconds. */
export const FAST = { backoff: { baseMs: 5, capMs: 40 }, retries: 8 } as const;

/** A temp dir with a random file of `size` bytes served by a real demo origin on 127.0.0.1. */
export async function downloadFixture(size = 4 << 20, name = 'model.bin', rateMbps?: number): Promise<DownloadFixture> {
  const root = await mkdtemp(join(tmpdir(), 'porten-dl-'));
  const originDir = join(root, 'origin');
  const data = randomBytes(size);
  await mkdir(dirname(join(originDir, name)), { recursive: true });
  await writeFile(join(originDir, name), data);
  const origin = await startDemoOrigin({ dir: originDir, rateMbps });
  const dest = join(root, 'models', 'model.bin');
  return {
    root,
    origin,
    name,
    url: `${origin.url}/${name}`,
    dest,
    size,
    sha: createHash('sha256').update(data).digest('hex'),
    data,
    destMatches: async () => (await readFile(dest)).equals(data),
    cleanup: async () => {
      await origin.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
