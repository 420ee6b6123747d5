import { describe, expect, it } from 'vitest';
import { parseEngineArgs } from '../../nodes/engines/builtin/args';

describe('parseEngineArgs', () => {
  it.each([
    [
      'applies defaults',
      ['--model', '/m/demo-small.gguf', '--port', '9000'],
      { model: '/m/demo-small.gguf', port: 9000, host: '127.0.0.1', ctx: 512, threads: 1, parallel: 4, name: 'demo-small', gpu: 'auto' },
    ],
    [
      'takes every option',
      ['--model', 'a.gguf', '--host', '0.0.0.0', '--port', '1', '--ctx', '2048', '--threads', '2', '--parallel', '8', '--name', 'x', '--gpu', 'false'],
      { model: 'a.gguf', host: '0.0.0.0', port: 1, ctx: 2048, threads: 2, parallel: 8, name: 'x', gpu: 'false' },
    ],
    ['accepts --key=value', ['--model=b.GGUF', '--port=0'], { model: 'b.GGUF', port: 0, name: 'b' }],
    ['keeps a name without .gguf as is', ['--model', 'C:\\models\\weights.bin', '--port', '5'], { name: 'weights.bin' }],
  ])('%s', (_name, argv, expected) => {
    const r = parseEngineArgs(argv);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.args).toMatchObject(expected);
  });

  it.each([
    ['missing model', ['--port', '1'], /--model/],
    ['missing port', ['--model', 'a'], /--port/],
    ['port out of range', ['--model', 'a', '--port', '70000'], /--port/],
    ['non-numeric ctx', ['--model', 'a', '--port', '1', '--ctx', 'big'], /--ctx/],
    ['zero parallel', ['--model', 'a', '--port', '1', '--parallel', '0'], /--parallel/],
    ['fractional threads', ['--model', 'a', '--port', '1', '--threads', '1.5'], /--threads/],
    ['unknown flag', ['--model', 'a', '--port', '1', '--turbo', 'yes'], /unknown option --turbo/],
    ['flag without value', ['--model', '--port', '1'], /--model needs a value/],
    ['bare word', ['model.gguf'], /unexpected argument/],
    ['bad gpu value', ['--model', 'a', '--port', '1', '--gpu', 'cuda'], /--gpu/],
  ])('rejects %s', (_name, argv, message) => {
    const r = parseEngineArgs(argv);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(message);
  });
});
