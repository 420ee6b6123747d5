import { describe, expect, it } from 'vitest';
import { detectBudget, parseNvidiaSmi, ramReserveMb, type MemoryProbes } from '../../nodes/agent/memory';

const GiB = 1024 ** 3;
const noGpu = (): string | null => null;

describe('detectBudget', () => {
  it.each<[string, MemoryProbes, number, string]>([
    ['configured wins over everything', { configuredMb: 4000, nvidiaSmi: () => '81920\n', totalMemBytes: 64 * GiB }, 4000, 'configured'],
    ['one GPU', { nvidiaSmi: () => '24576\n', totalMemBytes: 64 * GiB }, 24576, 'nvidia-smi'],
    ['GPUs are summed', { nvidiaSmi: () => '81920\n81920\n', totalMemBytes: 64 * GiB }, 163840, 'nvidia-smi'],
    ['blank and garbage lines are ignored', { nvidiaSmi: () => '\n 16384 \n[N/A]\n', totalMemBytes: 64 * GiB }, 16384, 'nvidia-smi'],
    ['no nvidia-smi: RAM minus a quarter', { nvidiaSmi: noGpu, totalMemBytes: 16 * GiB }, 12288, 'system-ram'],
    ['small RAM keeps at least 1 GiB back', { nvidiaSmi: noGpu, totalMemBytes: 2 * GiB }, 1024, 'system-ram'],
    ['large RAM keeps at most 8 GiB back', { nvidiaSmi: noGpu, totalMemBytes: 256 * GiB }, 253952, 'system-ram'],
    ['tiny RAM never goes negative', { nvidiaSmi: noGpu, totalMemBytes: 512 * 1024 ** 2 }, 0, 'system-ram'],
    ['nvidia-smi output with no numbers falls back to RAM', { nvidiaSmi: () => 'No devices were found\n', totalMemBytes: 8 * GiB }, 6144, 'system-ram'],
    ['a throwing probe falls back to RAM', { nvidiaSmi: () => { throw new Error('boom'); }, totalMemBytes: 8 * GiB }, 6144, 'system-ram'],
  ])('%s', (_name, probes, mb, source) => {
    expect(detectBudget(probes)).toMatchObject({ mb, source });
  });

  it('parses nvidia-smi and sizes the reserve', () => {
    expect(parseNvidiaSmi('')).toBeNull();
    expect(parseNvidiaSmi('1\r\n2\r\n')).toBe(3);
    expect(ramReserveMb(4096)).toBe(1024);
    expect(ramReserveMb(100_000)).toBe(8192);
  });
});
