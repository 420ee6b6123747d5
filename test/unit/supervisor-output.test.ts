import { describe, expect, it } from 'vitest';
import { type EngineSpec, Supervisor } from '../../nodes/engines/supervisor';

// A real child process that writes its log the way a pipe may deliver it on a busy machine: a line cut
// in the middle, the rest a moment later, on stdout and stderr at once. The engine's memory is read
// from such lines (llama-server's "… buffer size = N MiB"), so onOutput must see each line whole.
const SCRIPT = `
const w = (s, d) => new Promise((r) => s.write(d, r));
(async () => {
  await w(process.stdout, 'load_tensors: CPU model buf');
  await w(process.stderr, 'stderr: first ha');
  await new Promise((r) => setTimeout(r, 100));
  await w(process.stdout, 'fer size =    39.01 MiB\\nsecond line\\n');
  await w(process.stderr, 'lf, second half\\n');
  await w(process.stdout, 'model loaded\\n');
  setInterval(() => {}, 1000);
})();
`;

describe('supervisor output', () => {
  it('hands onOutput whole lines, however the pipe splits them, per stream', async () => {
    const lines: string[] = [];
    const spec: EngineSpec = {
      command: () => ({ cmd: process.execPath, args: ['-e', SCRIPT] }),
      baseUrl: (port) => `http://127.0.0.1:${port}`,
      probe: async () => (lines.includes('model loaded') ? { ready: true } : { ready: false, detail: 'waiting' }),
    };
    const s = new Supervisor(spec, { onOutput: (l) => lines.push(l), pollMs: 20 });
    try {
      await s.ensureReady();
      expect(lines.filter((l) => l !== 'model loaded').sort()).toEqual([
        'load_tensors: CPU model buffer size =    39.01 MiB',
        'second line',
        'stderr: first half, second half',
      ]);
    } finally {
      await s.stop();
    }
  }, 30_000);
});
