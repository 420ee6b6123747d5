import { describe, expect, it } from 'vitest';
import { lentMb, parseListDevices, parseRpcWorkers, placeLayers } from '../../nodes/agent/rpc-pool-plan';
import { parseConfig } from '../../nodes/agent/config';
import { isLoopback, rpcServerArgs } from '../../nodes/worker';

const MB = 1024 * 1024;

describe('parseRpcWorkers', () => {
  it.each([
    ['one worker', '10.0.0.2:50052', [{ endpoint: '10.0.0.2:50052' }]],
    ['a cap and a name', 'gpu-a.lan:50052=8192, 10.0.0.3:50053', [{ endpoint: 'gpu-a.lan:50052', capMb: 8192 }, { endpoint: '10.0.0.3:50053' }]],
    ['IPv6', '[fd00::2]:50052=100', [{ endpoint: '[fd00::2]:50052', capMb: 100 }]],
  ])('%s', (_n, text, want) => {
    expect(parseRpcWorkers(text)).toEqual({ ok: true, value: want });
  });

  it.each([
    ['empty', ' , ', 'at least one'],
    ['no port', '10.0.0.2', 'not host:port'],
    ['port out of range', '10.0.0.2:70000', 'out of range'],
    ['zero memory', '10.0.0.2:50052=0', 'lends no memory'],
    ['twice', 'a:1,a:1=5', 'listed twice'],
    ['junk', 'a:1;b:2', 'not host:port'],
  ])('refuses %s', (_n, text, msg) => {
    const r = parseRpcWorkers(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(msg);
  });
});

describe('lentMb', () => {
  const devices = [
    { freeBytes: 1000 * MB, totalBytes: 2000 * MB },
    { freeBytes: 500 * MB, totalBytes: 500 * MB },
  ];
  it.each([
    ['no cap: 90% of what the worker reports free', {}, 1350],
    ['a cap below free', { capMb: 800 }, 800],
    ['a cap above free is clamped to free', { capMb: 5000 }, 1500],
  ])('%s', (_n, cap, want) => {
    expect(lentMb({ endpoint: 'a:1', ...cap }, devices)).toBe(want);
  });
});

describe('placeLayers', () => {
  const two = [
    { endpoint: 'a:1', lentMb: 150 },
    { endpoint: 'b:1', lentMb: 50 },
  ];
  it.each([
    [
      'CPU-only node: the workers take layers in proportion to what they lend, the rest stay local',
      { localMb: 200, localDevices: 0, workers: two, nLayers: 32 },
      { endpoints: ['a:1', 'b:1'], split: [150, 50], gpuLayers: 16 },
    ],
    [
      'CPU-only node lending nothing itself: every layer on the workers',
      { localMb: 0, localDevices: 0, workers: two, nLayers: 32 },
      { endpoints: ['a:1', 'b:1'], split: [150, 50], gpuLayers: 999 },
    ],
    [
      'a node with two GPUs: they come first in the split, every layer offloaded',
      { localMb: 1000, localDevices: 2, workers: two, nLayers: 32 },
      { endpoints: ['a:1', 'b:1'], split: [500, 500, 150, 50], gpuLayers: 999 },
    ],
    [
      'workers that lend nothing are left out',
      { localMb: 100, localDevices: 0, workers: [{ endpoint: 'a:1', lentMb: 0 }, two[0]], nLayers: 5 },
      { endpoints: ['a:1'].map(() => 'a:1'), split: [150], gpuLayers: 3 },
    ],
    ['no live workers: everything local', { localMb: 100, localDevices: 0, workers: [], nLayers: 5 }, { endpoints: [], split: [], gpuLayers: 0 }],
    ['unknown layer count: all offloaded', { localMb: 100, localDevices: 0, workers: two }, { endpoints: ['a:1', 'b:1'], split: [150, 50], gpuLayers: 999 }],
  ])('%s', (_n, input, want) => {
    expect(placeLayers(input)).toEqual(want);
  });
});

describe('parseListDevices', () => {
  it('keeps this machine’s devices and drops RPC ones', () => {
    const out = [
      '0.00.000.324 I srv  llama_server: initializing ...',
      'Available devices:',
      '  CUDA0: NVIDIA H200 (143771 MiB, 142000 MiB free)',
      '  Vulkan1: AMD Radeon (16368 MiB, 16000 MiB free)',
      '  RPC0: 127.0.0.1:50061 (24105 MiB, 24105 MiB free)',
    ].join('\n');
    expect(parseListDevices(out)).toEqual([
      { name: 'CUDA0', totalMb: 143771, freeMb: 142000 },
      { name: 'Vulkan1', totalMb: 16368, freeMb: 16000 },
    ]);
    expect(parseListDevices('Available devices:\n  (none)\n')).toEqual([]);
  });
});

describe('combined-node and worker flags', () => {
  const defaults = { hostname: 'box', homedir: '/home/ada' };
  it('parses --rpc-workers into specs', () => {
    const r = parseConfig({ PORTEN_NODE_KEY: 'k' }, ['run', '--rpc-workers', '10.0.0.2:50052=4096,10.0.0.3:50052'], defaults);
    expect(r.ok && r.cmd.command === 'run' && r.cmd.config.rpcWorkers).toEqual([{ endpoint: '10.0.0.2:50052', capMb: 4096 }, { endpoint: '10.0.0.3:50052' }]);
  });
  it('refuses a bad --rpc-workers with its reason', () => {
    expect(parseConfig({ PORTEN_NODE_KEY: 'k', PORTEN_RPC_WORKERS: 'nope' }, ['run'], defaults)).toEqual({
      ok: false,
      error: "porten run: --rpc-workers: 'nope' is not host:port or host:port=MB",
    });
  });
  it('`porten worker` binds loopback on 50052 unless told otherwise, and needs no node key', () => {
    const worker = (argv: string[]) => {
      const r = parseConfig({}, argv, defaults);
      return r.ok && r.cmd.command === 'worker' ? r.cmd.config : undefined;
    };
    expect(worker(['worker'])).toEqual({ host: '127.0.0.1', port: 50052 });
    const o = worker(['worker', '--host', '10.0.0.2', '--port', '6000', '--memory-mb', '2048', '--device', 'CUDA0']);
    expect(o).toEqual({ host: '10.0.0.2', port: 6000, memoryMb: 2048, device: 'CUDA0' });
  });
  it('builds ggml-rpc-server arguments', () => {
    expect(rpcServerArgs({ host: '127.0.0.1', port: 50052, threads: 0 })).toEqual(['--host', '127.0.0.1', '--port', '50052', '--threads', '1']);
    expect(rpcServerArgs({ host: '10.0.0.2', port: 1, threads: 8, device: 'CUDA0' })).toEqual([
      '--host',
      '10.0.0.2',
      '--port',
      '1',
      '--threads',
      '8',
      '--device',
      'CUDA0',
    ]);
  });
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['::1', true],
    ['0.0.0.0', false],
    ['10.0.0.2', false],
  ])('isLoopback(%s) = %s', (host, want) => {
    expect(isLoopback(host)).toBe(want);
  });
});
