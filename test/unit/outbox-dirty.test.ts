import { describe, expect, it } from 'vitest';
import type { LedgerRow } from '../../src/hub/ingest-types';
import { openRow } from '../../src/link/inflight';
import { Outbox } from '../../src/link/outbox';
import { dispatchMeta } from '../support/dispatch-meta';
import { seeded } from '../support/random';

/** Storage that keeps the outbox table in a Map: enough for what Outbox asks of it. */
function fakeSql(initial: LedgerRow[] = []): SqlStorage {
  const table = new Map(initial.map((r) => [r.rid, JSON.stringify(r)]));
  const exec = (query: string, ...args: unknown[]) => {
    if (query.startsWith('SELECT')) return [...table.values()].map((row) => ({ row }));
    if (query.startsWith('INSERT')) table.set(args[0] as string, args[1] as string);
    if (query.startsWith('DELETE')) for (const rid of args) table.delete(rid as string);
    return [];
  };
  return { exec } as unknown as SqlStorage;
}

function row(rid: string, ended: number | null): LedgerRow {
  return { ...openRow(dispatchMeta({ id: rid }), 'n', 0), ended, outcome: ended === null ? null : 'ok' };
}

describe('Outbox dirty count', () => {
  it('always equals the rows a batch would send, whatever the order of begins, ends, withdrawals and acks (seeded)', () => {
    const { int, pick, rand } = seeded(7);
    const box = new Outbox(fakeSql([row('old-open', null), row('old-ended', 5)]), 10);
    const recount = () => box.batch(Number.MAX_SAFE_INTEGER).length;
    expect(box.dirty).toBe(recount());
    const rids = Array.from({ length: 40 }, (_, i) => `r${i}`);
    let inFlight: LedgerRow[] = [];
    for (let step = 0; step < 20_000; step++) {
      const rid = pick(rids);
      switch (int(7)) {
        case 0:
          box.begin(row(rid, null));
          break;
        case 1:
          box.begin(row(rid, rand() < 0.5 ? null : step));
          break;
        case 2:
          box.end(rid, { ended: step, outcome: 'ok' });
          break;
        case 3:
          box.withdraw(rid);
          break;
        case 4:
          inFlight = box.batch(1 + int(10));
          break;
        case 5:
          // An ack for a batch sent some steps ago: rows changed since stay dirty.
          box.acked(inFlight);
          inFlight = [];
          break;
        case 6:
          box.persistOpen(step + 1000);
          break;
      }
      expect(box.dirty).toBe(recount());
    }
  });
});
