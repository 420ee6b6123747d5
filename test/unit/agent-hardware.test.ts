import { describe, expect, it } from 'vitest';
import { parseLlamaReport, parseNvidiaSmi, parseRocmSmi, physicalCoresFromCpuinfo, type LlamaReport } from '../../nodes/agent/hardware';
import { decideHardware, gpuReserveMb, ramReserveMb, type MachineReport } from '../../nodes/agent/memory';
import { probeMachine } from '../../nodes/agent/memory-probes';

/*
 * STAND-INS: there is no GPU on this machine, so the GPU paths are fed outputs written in the
 * formats the tools print (nvidia-smi --format=csv,noheader,nounits; rocm-smi --json; the object
 * node-llama-cpp's getVramState() returns). They are typed from those formats, not captured on the
 * GPUs they name. The CPU path at the end runs the real node-llama-cpp build of this machine.
 */
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const NVIDIA_2X_H100 = '0, NVIDIA H100 80GB HBM3, 81559, 0, 81080, 550.54.15\n1, NVIDIA H100 80GB HBM3, 81559, 1024, 80056, 550.54.15\n';
const ROCM_7900XTX = JSON.stringify({
  card0: {
    'Card series': 'Navi 31 [Radeon RX 7900 XT/7900 XTX]',
    'Card model': '0x744c',
    'VRAM Total Memory (B)': '25753026560',
    'VRAM Total Used Memory (B)': '1035964416',
  },
  system: { 'Driver version': '6.7.0' },
});
const cuda = (totalGiB: number, freeGiB: number, devices: string[]): LlamaReport => ({
  gpu: 'cuda',
  vram: { total: totalGiB * GiB, used: (totalGiB - freeGiB) * GiB, free: freeGiB * GiB, unifiedSize: 0 },
  devices,
  cpuMathCores: 32,
});
const machine = (m: Partial<MachineReport>): MachineReport => ({
  llama: null,
  nvidia: null,
  rocm: null,
  totalMemBytes: 64 * GiB,
  freeMemBytes: 60 * GiB,
  logicalCpus: 16,
  ...m,
});

describe('parsers', () => {
  it('nvidia-smi: every GPU with memory and the driver', () => {
    expect(parseNvidiaSmi(NVIDIA_2X_H100)).toEqual({
      gpus: [
        { name: 'NVIDIA H100 80GB HBM3', vram_mb: 81559, free_mb: 81080 },
        { name: 'NVIDIA H100 80GB HBM3', vram_mb: 81559, free_mb: 80056 },
      ],
      driver: '550.54.15',
      totalMb: 163118,
      freeMb: 161136,
    });
  });

  it.each([
    ['empty', ''],
    ['no devices', 'No devices were found\n'],
    ['MIG: memory not available', '0, NVIDIA A100-SXM4-40GB, [N/A], [N/A], [N/A], 535.104.05\n'],
  ])('nvidia-smi %s → null', (_n, out) => expect(parseNvidiaSmi(out)).toBeNull());

  it('nvidia-smi: a comma inside a name stays in the name', () => {
    expect(parseNvidiaSmi('0, Odd, Name GPU, 16384, 0, 16000, 550.1\n')?.gpus[0].name).toBe('Odd, Name GPU');
  });

  it('rocm-smi JSON: cards in MiB, free from used, the driver from `system`', () => {
    expect(parseRocmSmi(ROCM_7900XTX)).toEqual({
      gpus: [{ name: 'Navi 31 [Radeon RX 7900 XT/7900 XTX]', vram_mb: 24560, free_mb: 23572 }],
      driver: '6.7.0',
      totalMb: 24560,
      freeMb: 23572,
    });
    expect(parseRocmSmi('not json')).toBeNull();
    expect(parseRocmSmi('{"system": {}}')).toBeNull();
  });

  it('the probe child prints one JSON line; anything else is no report', () => {
    expect(parseLlamaReport(`warming up\n${JSON.stringify(cuda(24, 23, ['NVIDIA GeForce RTX 4090']))}\n`)?.gpu).toBe('cuda');
    expect(parseLlamaReport('{"gpu":"rocm"}')).toBeNull();
    expect(parseLlamaReport('')).toBeNull();
  });

  it('/proc/cpuinfo: physical cores, not hyper-threads', () => {
    const block = (proc: number, phys: number, core: number) => `processor\t: ${proc}\nphysical id\t: ${phys}\ncore id\t\t: ${core}\n\n`;
    // 2 sockets × 2 cores × 2 threads
    const text = [block(0, 0, 0), block(1, 0, 1), block(2, 1, 0), block(3, 1, 1), block(4, 0, 0), block(5, 0, 1), block(6, 1, 0), block(7, 1, 1)].join('');
    expect(physicalCoresFromCpuinfo(text)).toBe(4);
    expect(physicalCoresFromCpuinfo('processor : 0\n')).toBeNull();
  });
});

describe('decideHardware', () => {
  it.each<[string, MachineReport, { mb: number; source: string }]>([
    ['configured wins over everything', machine({ configuredMb: 4000, llama: cuda(24, 23, ['RTX 4090']) }), { mb: 4000, source: 'configured' }],
    // 24576 total, 23552 free → min(24576, 23552) − 1229 (5 %)
    ['one CUDA GPU: free memory minus the reserve', machine({ llama: cuda(24, 23, ['RTX 4090']) }), { mb: 23552 - 1229, source: 'gpu' }],
    ['what porten already holds counts as usable', machine({ llama: cuda(24, 13, ['RTX 4090']), ownEnginesMb: 10240 }), { mb: 23552 - 1229, source: 'gpu' }],
    ['never more than the total', machine({ llama: cuda(24, 23, ['RTX 4090']), ownEnginesMb: 99999 }), { mb: 24576 - 1229, source: 'gpu' }],
    [
      'two GPUs: the backend sums them (layers split across devices)',
      machine({ llama: cuda(160, 158, ['H100', 'H100']) }),
      { mb: 161792 - 2048, source: 'gpu' },
    ],
    [
      'Metal, unified memory',
      machine({ llama: { gpu: 'metal', vram: { total: 48 * GiB, used: 2 * GiB, free: 46 * GiB, unifiedSize: 64 * GiB }, devices: ['Apple M3 Max'] } }),
      { mb: 47104 - 2048, source: 'gpu' },
    ],
    [
      'Vulkan (AMD) through node-llama-cpp',
      machine({
        llama: { gpu: 'vulkan', vram: { total: 24560 * MiB, used: 988 * MiB, free: 23572 * MiB, unifiedSize: 0 }, devices: ['AMD Radeon RX 7900 XTX'] },
      }),
      { mb: 23572 - 1228, source: 'gpu' },
    ],
    ['node-llama-cpp could not load, nvidia-smi sees GPUs', machine({ nvidia: parseNvidiaSmi(NVIDIA_2X_H100) }), { mb: 161136 - 2048, source: 'nvidia-smi' }],
    ['node-llama-cpp could not load, rocm-smi sees a GPU', machine({ rocm: parseRocmSmi(ROCM_7900XTX) }), { mb: 23572 - 1228, source: 'rocm-smi' }],
    [
      'engines run on the CPU although a GPU exists: RAM is the budget',
      machine({ llama: { gpu: false, vram: { total: 0, used: 0, free: 0, unifiedSize: 0 }, devices: [] }, nvidia: parseNvidiaSmi(NVIDIA_2X_H100) }),
      { mb: 61440 - 8192, source: 'system-ram' },
    ],
    ['no GPU: available RAM minus a quarter (capped at 8 GiB)', machine({}), { mb: 61440 - 8192, source: 'system-ram' }],
    ['small RAM keeps at least 1 GiB back', machine({ totalMemBytes: 2 * GiB, freeMemBytes: 2 * GiB }), { mb: 1024, source: 'system-ram' }],
    ['busy RAM: only what is available', machine({ totalMemBytes: 16 * GiB, freeMemBytes: 6 * GiB }), { mb: 6144 - 4096, source: 'system-ram' }],
    ['never negative', machine({ totalMemBytes: 512 * MiB, freeMemBytes: 100 * MiB }), { mb: 0, source: 'system-ram' }],
  ])('%s', (_name, m, budget) => {
    expect(decideHardware(m).budget).toMatchObject(budget);
  });

  it('lists GPUs from the vendor tool when present, with the driver; threads are physical cores', () => {
    const h = decideHardware(machine({ llama: cuda(160, 158, ['NVIDIA H100 80GB HBM3', 'NVIDIA H100 80GB HBM3']), nvidia: parseNvidiaSmi(NVIDIA_2X_H100) }));
    expect(h).toMatchObject({ backend: 'cuda', driver: '550.54.15', threads: 32 });
    expect(h.gpus).toHaveLength(2);
    expect(h.gpus[0]).toEqual({ name: 'NVIDIA H100 80GB HBM3', vram_mb: 81559, free_mb: 81080 });
  });

  it('one GPU without a vendor tool gets its memory from the backend; several get names only', () => {
    expect(decideHardware(machine({ llama: cuda(24, 23, ['RTX 4090']) })).gpus).toEqual([{ name: 'RTX 4090', vram_mb: 24576, free_mb: 23552 }]);
    expect(decideHardware(machine({ llama: cuda(48, 47, ['A', 'B']) })).gpus).toEqual([{ name: 'A' }, { name: 'B' }]);
  });

  it('threads: node-llama-cpp, else /proc/cpuinfo, else logical CPUs', () => {
    expect(decideHardware(machine({ physicalCores: 8 })).threads).toBe(8);
    expect(decideHardware(machine({})).threads).toBe(16);
  });

  it('reserves', () => {
    expect(gpuReserveMb(8192)).toBe(512);
    expect(gpuReserveMb(24576)).toBe(1229);
    expect(gpuReserveMb(200_000)).toBe(2048);
    expect(ramReserveMb(4096)).toBe(1024);
    expect(ramReserveMb(100_000)).toBe(8192);
  });
});

describe('this machine (real node-llama-cpp CPU build, no GPU)', () => {
  it('probes the CPU backend and budgets from RAM', async () => {
    const m = await probeMachine();
    expect(m.llama).toMatchObject({ gpu: false, devices: [] });
    expect(m.llama?.cpuMathCores).toBeGreaterThan(0);
    const h = decideHardware(m);
    expect(h).toMatchObject({ backend: 'cpu', gpus: [], budget: { source: 'system-ram' } });
    expect(h.budget.mb).toBeGreaterThan(0);
    expect(h.budget.mb).toBeLessThan(m.totalMemBytes / MiB);
    expect(h.threads).toBe(m.llama?.cpuMathCores);
  });
});
