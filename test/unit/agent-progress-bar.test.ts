import { describe, expect, it } from 'vitest';
import { renderBar, terminalProgress } from '../../nodes/agent/progress-bar';

describe('terminal progress bar', () => {
  it('renders bytes, percent, rate and ETA in a fixed-width bar', () => {
    const MB = 2 ** 20;
    expect(renderBar('demo-large', 25 * MB, 100 * MB, 5 * MB, 8)).toBe('demo-large [##......]  25% 25.0/100.0 MB 5.0 MB/s eta 15s');
    expect(renderBar('m', 0, 0, 0, 4)).toBe('m [....]   0% 0.0/0.0 MB 0.0 MB/s');
    expect(renderBar('m', 10, 10, 1, 4)).toBe('m [####] 100% 0.0/0.0 MB 0.0 MB/s');
  });

  it('writes nothing when stderr is not a terminal', () => {
    const writes: string[] = [];
    const fake = { isTTY: false, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream;
    const bar = terminalProgress(fake);
    bar.update('m', 1, 2, 1);
    bar.finish();
    expect(writes).toEqual([]);
    const tty = { isTTY: true, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream;
    terminalProgress(tty).update('m', 1, 2, 1);
    expect(writes[0]).toMatch(/^\rm \[/);
  });
});
