import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { type CatalogEntry, seedCatalog } from '../../src/hub/catalog';
import { Hub } from '../../src/hub/hub';
import { HubStore } from '../../src/hub/store';

// The seeding rule on real workerd SQLite: seed entries are inserted when missing, follow catalog/models.json while
// no operator has written them, and are never overwritten once one has.

const ORIGIN = 'http://127.0.0.1:9';
const hubs = env.HUB;

function freshHub(name: string) {
  return hubs.get(hubs.idFromName(`catalog-seed-${name}`));
}

async function inHub<T>(stub: DurableObjectStub<Hub>, fn: (hub: Hub, store: HubStore) => T | Promise<T>): Promise<T> {
  return runInDurableObject(stub, (hub: Hub, state) => fn(hub, new HubStore(state.storage.sql)));
}

/**
 * A Hub start on the same storage: a second instance constructed on the object's own state runs the constructor's
 * migrations and seeding exactly as a deploy or an eviction would. (The e2e suite restarts the whole edge.)
 */
async function restart(stub: DurableObjectStub<Hub>): Promise<void> {
  await runInDurableObject(stub, async (_hub: Hub, state) => {
    new Hub(state, env);
    await state.blockConcurrencyWhile(async () => {});
  });
}

const seeded = (id: string): CatalogEntry => {
  const e = seedCatalog(ORIGIN).entries.find((x) => x.id === id);
  if (!e) throw new Error(`no seed entry ${id}`);
  return e;
};

describe('catalog seeding', () => {
  it('inserts every seed entry into a fresh Hub, none marked as edited', async () => {
    const models = await inHub(freshHub('fresh'), (_hub, store) => store.models());
    expect(models.map((m) => m.id).sort()).toEqual(
      seedCatalog(ORIGIN)
        .entries.map((e) => e.id)
        .sort(),
    );
    expect(models.every((m) => m.edited_at === null)).toBe(true);
  });

  it("keeps an operator's edit of a seeded entry across restarts", async () => {
    const stub = freshHub('edit-kept');
    const edited = { ...seeded('demo-small'), context_length: 256, vram_mb: 6, description: 'operator says so' };
    await inHub(stub, (hub) => hub.putModel(edited));
    await restart(stub);
    await restart(stub);
    const after = await inHub(stub, (hub, store) => ({ row: store.model('demo-small'), admin: hub.adminModels().find((m) => m.id === 'demo-small') }));
    expect(after.row).toMatchObject({ context_length: 256, vram_mb: 6, description: 'operator says so' });
    expect(after.row?.edited_at).toEqual(expect.any(Number));
    expect(after.admin?.edited_at).toBe(after.row?.edited_at);
    expect(after.admin?.context_length).toBe(256);
  });

  it('brings an entry no operator wrote up to date with a changed seed file, keeping its enabled flag', async () => {
    const stub = freshHub('seed-update');
    await inHub(stub, (hub, store) => {
      hub.setModelEnabled('demo-large', false);
      const next = seedCatalog(ORIGIN);
      next.entries = next.entries.map((e) => (e.id === 'demo-large' ? { ...e, vram_mb: 128, context_length: 1024, enabled: true } : e));
      store.upsertSeed(next, Date.now());
    });
    const row = await inHub(stub, (_hub, store) => store.model('demo-large'));
    expect(row).toMatchObject({ vram_mb: 128, context_length: 1024, enabled: false, edited_at: null });
  });

  it('leaves an edited entry alone when the seed file changes it', async () => {
    const stub = freshHub('seed-update-edited');
    await inHub(stub, (hub, store) => {
      hub.putModel({ ...seeded('demo-plain'), vram_mb: 9 });
      const next = seedCatalog(ORIGIN);
      next.entries = next.entries.map((e) => (e.id === 'demo-plain' ? { ...e, vram_mb: 64, description: 'new seed' } : e));
      store.upsertSeed(next, Date.now());
    });
    const row = await inHub(stub, (_hub, store) => store.model('demo-plain'));
    expect(row).toMatchObject({ vram_mb: 9, description: seeded('demo-plain').description });
  });

  it('re-inserts a seed entry that is missing', async () => {
    const stub = freshHub('missing');
    await inHub(stub, (_hub, store) => {
      store.upsertSeed({ entries: [], withheld: ['demo-embed'] }, Date.now());
      expect(store.model('demo-embed')).toBeNull();
    });
    await restart(stub);
    expect(await inHub(stub, (_hub, store) => store.model('demo-embed'))).toMatchObject({ id: 'demo-embed', edited_at: null });
  });

  it('withholds demo entries on an edge without a demo origin, and removes those an earlier start seeded unless an operator wrote them', async () => {
    const none = seedCatalog(undefined);
    expect(none.entries.some((e) => e.weights.url.startsWith('demo://'))).toBe(false);
    const demoIds = seedCatalog(ORIGIN)
      .entries.filter((e) => e.weights.url.startsWith('demo://'))
      .map((e) => e.id)
      .sort();
    expect(demoIds).toEqual(expect.arrayContaining(['demo-embed', 'demo-large', 'demo-plain', 'demo-small']));
    expect(none.withheld.sort()).toEqual(demoIds);
    expect(seedCatalog('').withheld.sort()).toEqual(none.withheld);
    expect(none.entries.map((e) => e.id)).toContain('qwen2.5-coder-32b');

    const stub = freshHub('withheld');
    const ids = await inHub(stub, (hub, store) => {
      hub.putModel({ ...seeded('demo-small'), description: 'kept by the operator' });
      store.upsertSeed(none, Date.now());
      return store.models().map((m) => m.id);
    });
    expect(ids.sort()).toEqual(['demo-small', 'qwen2.5-coder-32b']);
  });
});
