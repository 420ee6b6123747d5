import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { recordModelId, scanInventory } from '../../nodes/agent/inventory';
import { adoptLegacyWeights } from '../../nodes/agent/legacy-weights';
import { legacyModelFileName, modelFileName } from '../../nodes/engines/args';

const dirs: string[] = [];
function scratch(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'porten-names-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('weights file names on a node', () => {
  it('gives org/model, org:model and org_model three files, and the inventory names each one right', async () => {
    const dir = scratch();
    for (const id of ['org/model', 'org:model', 'org_model']) {
      const file = path.join(dir, modelFileName(id));
      writeFileSync(file, id);
      await recordModelId(file, id);
    }
    const inv = await scanInventory(dir);
    expect(inv.map((i) => i.model).sort()).toEqual(['org/model', 'org:model', 'org_model']);
    for (const i of inv) expect(readFileSync(path.join(dir, modelFileName(i.model)), 'utf8')).toBe(i.model);
  });

  it('leaves a hashed file out of the inventory when its id sidecar is missing or names another id', async () => {
    const dir = scratch();
    writeFileSync(path.join(dir, modelFileName('org:model')), 'x');
    writeFileSync(path.join(dir, modelFileName('org/model')), 'y');
    writeFileSync(path.join(dir, `${modelFileName('org/model')}.id`), 'org:model');
    expect(await scanInventory(dir)).toEqual([]);
  });

  it('adopts a download under its old name only with a pinned sha256, by hard link, with its verdict', async () => {
    const dir = scratch();
    const legacy = path.join(dir, legacyModelFileName('org:model'));
    writeFileSync(legacy, 'weights');
    writeFileSync(`${legacy}.verified.json`, JSON.stringify({ size: 7, mtimeMs: statSync(legacy).mtimeMs, sha256: 'a'.repeat(64) }));
    expect(await adoptLegacyWeights(dir, 'org:model', undefined)).toBe(false);
    expect(await adoptLegacyWeights(dir, 'org:model', 'a'.repeat(64))).toBe(true);
    const dest = path.join(dir, modelFileName('org:model'));
    expect(statSync(dest).ino).toBe(statSync(legacy).ino);
    expect(readFileSync(`${dest}.verified.json`, 'utf8')).toBe(readFileSync(`${legacy}.verified.json`, 'utf8'));
    // Once the new name exists nothing is touched again; a plain id never had another name.
    expect(await adoptLegacyWeights(dir, 'org:model', 'a'.repeat(64))).toBe(false);
    expect(await adoptLegacyWeights(dir, 'org_model', 'a'.repeat(64))).toBe(false);
  });
});
