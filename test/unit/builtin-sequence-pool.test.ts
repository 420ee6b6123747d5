import { describe, expect, it } from 'vitest';
import { SequencePool } from '../../nodes/engines/builtin/sequence-pool';

describe('SequencePool', () => {
  it('hands out free items at once', async () => {
    const pool = new SequencePool(['a', 'b']);
    expect([await pool.acquire(), await pool.acquire()]).toEqual(['a', 'b']);
    expect(pool.available).toBe(0);
  });

  it('serves waiters in arrival order as items come back', async () => {
    const pool = new SequencePool(['a']);
    const held = await pool.acquire();
    const order: string[] = [];
    const w1 = pool.acquire().then((x) => order.push(`w1:${x}`));
    const w2 = pool.acquire().then((x) => order.push(`w2:${x}`));
    expect(pool.waiting).toBe(2);
    pool.release(held);
    await w1;
    pool.release('a');
    await w2;
    expect(order).toEqual(['w1:a', 'w2:a']);
    expect(pool.waiting).toBe(0);
  });

  it('drops an aborted waiter from the queue without giving it an item', async () => {
    const pool = new SequencePool(['a']);
    const held = await pool.acquire();
    const abort = new AbortController();
    const gone = pool.acquire(abort.signal);
    const next = pool.acquire();
    abort.abort(new Error('client left'));
    await expect(gone).rejects.toThrow('client left');
    expect(pool.waiting).toBe(1);
    pool.release(held);
    expect(await next).toBe('a');
  });

  it('rejects at once when the signal is already aborted', async () => {
    const pool = new SequencePool(['a']);
    await expect(pool.acquire(AbortSignal.abort(new Error('late')))).rejects.toThrow('late');
    expect(pool.available).toBe(1);
  });
});
