import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { estimateFootprintMb } from '../../src/planner/footprint';
import { generatedPages } from '../../scripts/docs/generate';
import { ARCHITECTURES } from '../../scripts/docs/hardware-models';
import { ERROR_CODES } from '../../src/errors';

// The generated docs equal what their generators produce now: docs/api.md from the zod schemas and the error map,
// docs/hardware.md's tables from the footprint estimator run on GGUF headers. On failure: `npm run docs`.

const root = fileURLToPath(new URL('../..', import.meta.url));
const pages = await generatedPages(root);
const committed = (rel: string) => readFileSync(path.join(root, rel), 'utf8');

describe('generated docs', () => {
  for (const [rel, expected] of pages) {
    it(`${rel} is what \`npm run docs\` generates`, () => {
      expect(committed(rel), `${rel} is stale: run npm run docs`).toBe(expected);
    });
  }

  it('the API reference names every error code with its status, and every request schema', () => {
    const api = committed('docs/api.md');
    for (const [code, { status }] of Object.entries(ERROR_CODES)) expect(api).toMatch(new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${status}\\s*\\|`));
    for (const name of ['ChatCompletionRequestSchema', 'CompletionRequestSchema', 'EmbeddingRequestSchema', 'CatalogEntrySchema', 'CreateKeySchema']) {
      expect(api).toContain(`### ${name}`);
    }
    // A field the chat schema refuses by omission is not documented as accepted.
    expect(api).not.toMatch(/\|\s*`logprobs`\s*\|/);
  });

  it("the hardware table's Llama 3.1 8B Q4_K_M row is the planner's formula on that model's numbers", () => {
    const hw = committed('docs/hardware.md');
    const rows = hw.split('\n').map((l) => l.split('|').map((c) => c.trim()));
    const cells = rows.find((c) => c[1] === 'Llama 3.1 8B Instruct' && c[2] === '8.03B' && c[3] === 'Q4_K_M');
    expect(cells, 'row for Llama 3.1 8B Q4_K_M').toBeDefined();
    const weightsGib = Number(cells![5]);
    const at8k = Number(cells![6]);
    const a = ARCHITECTURES.find((x) => x.name === 'Llama 3.1 8B Instruct')!;
    // Independent of the GGUF path: the estimator's formula on the weights the table states and the config's numbers.
    const mb = estimateFootprintMb({ weightsBytes: weightsGib * 1024 ** 3, nLayer: a.nLayer, nEmbd: a.nEmbd, nHead: a.nHead, nHeadKv: a.nHeadKv }, 8192, 512);
    expect(Math.abs(mb / 1024 - at8k)).toBeLessThan(0.1);
    // KV cache of Llama 3.1 8B at 8k, f16: 2 × 32 layers × 8192 × 1024 × 2 bytes = 1 GiB.
    expect(at8k - weightsGib).toBeCloseTo(1 + 0.5, 0);
  });
});
