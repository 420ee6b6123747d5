import { describe, expect, it } from 'vitest';
import { llamaServerCommand } from '../../nodes/engines/llama-server-args';
import { BufferTally, parseBufferLine, rpcEndpointOf } from '../../nodes/engines/llama-server-memory';

const base = {
  binary: '/c/llama-server',
  modelPath: '/m/demo-small.gguf',
  model: 'demo-small',
  port: 4100,
  contextLength: 512,
  parallel: 4,
  threads: 2,
};

const serverArgs = (ctx: string, parallel: string, threads: string) => [
  '--model',
  '/m/demo-small.gguf',
  '--alias',
  'demo-small',
  '--host',
  '127.0.0.1',
  '--port',
  '4100',
  '--jinja',
  '--reasoning-format',
  'deepseek',
  '--ctx-size',
  ctx,
  '--parallel',
  parallel,
  '--threads',
  threads,
  '--threads-batch',
  threads,
  '--n-gpu-layers',
  '999',
  '--cache-ram',
  '0',
  '--fit',
  'off',
  '--metrics',
  '--no-webui',
  '--no-slots',
  '--log-verbosity',
  '4',
];

describe('llamaServerCommand', () => {
  it.each([
    ['each slot gets the catalog context (4 slots × 512)', base, '/c/llama-server', serverArgs('2048', '4', '2')],
    ['parallel and threads are at least 1', { ...base, parallel: 0, threads: 0 }, '/c/llama-server', serverArgs('512', '1', '1')],
    ['an embedding model adds --embeddings', { ...base, embeddings: true }, '/c/llama-server', [...serverArgs('2048', '4', '2'), '--embeddings']],
    [
      'RPC workers: endpoints in order and their shares as --tensor-split',
      { ...base, rpc: { endpoints: ['10.0.0.2:50052', '10.0.0.3:50052'], split: [3000, 1000] } },
      '/c/llama-server',
      [...serverArgs('2048', '4', '2'), '--rpc', '10.0.0.2:50052,10.0.0.3:50052', '--tensor-split', '3000,1000'],
    ],
    [
      'a split that does not match the endpoints is left to llama-server',
      { ...base, rpc: { endpoints: ['10.0.0.2:50052'], split: [] } },
      '/c/llama-server',
      [...serverArgs('2048', '4', '2'), '--rpc', '10.0.0.2:50052'],
    ],
  ])('%s', (_name, input, cmd, args) => {
    expect(llamaServerCommand(input)).toEqual({ cmd, args });
  });

  it('wraps the binary in setpriv --pdeathsig where the kernel can end it with the agent', () => {
    const c = llamaServerCommand({ ...base, watch: { kind: 'pdeathsig', setpriv: '/usr/bin/setpriv' } });
    expect(c.cmd).toBe('/usr/bin/setpriv');
    expect(c.args.slice(0, 4)).toEqual(['--pdeathsig', 'SIGKILL', '--', '/c/llama-server']);
    expect(c.args.slice(4)).toEqual(serverArgs('2048', '4', '2'));
  });

  it('wraps the binary in the Node watcher elsewhere', () => {
    const c = llamaServerCommand({ ...base, watch: { kind: 'node', execPath: '/usr/bin/node', script: '/r/watch.mjs' } });
    expect(c).toEqual({ cmd: '/usr/bin/node', args: ['/r/watch.mjs', '/c/llama-server', ...serverArgs('2048', '4', '2')] });
  });
});

describe('load log memory', () => {
  it.each([
    ['0.00.010.203 I load_tensors:   CPU_Mapped model buffer size =    66.40 MiB', { device: 'CPU_Mapped', mib: 66.4 }],
    ['0.00.010.433 I llama_kv_cache:        CPU KV buffer size =    10.00 MiB', { device: 'CPU', mib: 10 }],
    ['0.00.010.397 I llama_context:        CPU  output buffer size =     0.58 MiB', { device: 'CPU', mib: 0.58 }],
    ['0.00.023.535 I load_tensors: RPC0[127.0.0.1:50061] model buffer size =    39.01 MiB', { device: 'RPC0[127.0.0.1:50061]', mib: 39.01 }],
    ['0.00.209.318 I sched_reserve: RPC0[10.0.0.3:50052] compute buffer size =    17.04 MiB', { device: 'RPC0[10.0.0.3:50052]', mib: 17.04 }],
    ['0.00.209.318 I sched_reserve: CUDA0 compute buffer size =  1024.00 MiB', { device: 'CUDA0', mib: 1024 }],
    // The teardown check is not an allocation.
    ['0.33.901.444 D ~llama_context:        CPU compute buffer size is   9.0117 MiB, matches expectation of   9.0117 MiB', undefined],
    ['0.00.005.545 I print_info: file size   = 66.40 MiB (32.00 BPW)', undefined],
    ['0.00.149.000 I srv    load_model: prompt cache is enabled, size limit: 8192 MiB', undefined],
  ])('%s', (line, want) => {
    expect(parseBufferLine(line)).toEqual(want);
  });

  it('sums every buffer on every device, rounded up', () => {
    const t = new BufferTally();
    expect(t.totalMb()).toBeUndefined();
    for (const l of [
      '0.00.023.516 I load_tensors:   CPU_Mapped model buffer size =     0.69 MiB',
      '0.00.023.535 I load_tensors: RPC0[127.0.0.1:50061] model buffer size =    39.01 MiB',
      '0.00.023.551 I load_tensors: RPC0[127.0.0.1:50062] model buffer size =    26.70 MiB',
      '0.00.192.374 I llama_kv_cache: RPC0[127.0.0.1:50061] KV buffer size =     6.00 MiB',
      'unrelated line',
    ])
      t.add(l);
    expect(t.totalMb()).toBe(73);
    expect(t.devices()).toEqual({ CPU_Mapped: 0.69, 'RPC0[127.0.0.1:50061]': 45.01, 'RPC0[127.0.0.1:50062]': 26.7 });
  });

  it.each([
    ['RPC0[127.0.0.1:50061]', '127.0.0.1:50061'],
    ['RPC3[gpu-box.lan:50052]', 'gpu-box.lan:50052'],
    ['CUDA0', undefined],
  ])('rpcEndpointOf(%s)', (device, want) => {
    expect(rpcEndpointOf(device)).toBe(want);
  });
});
