import { describe, expect, it } from 'vitest';
import { builtinCommand, modelFileName, upstreamBase } from '../../nodes/engines/args';

const base = {
  execPath: '/usr/bin/node',
  execArgv: [] as string[],
  serverPath: '/r/nodes/dist/engines/builtin/server.js',
  modelPath: '/m/demo-small.gguf',
  port: 4100,
  contextLength: 512,
  threads: 1,
  parallel: 4,
  name: 'demo-small',
};

describe('builtinCommand', () => {
  it.each([
    [
      'plain',
      base,
      [
        base.serverPath,
        '--model',
        '/m/demo-small.gguf',
        '--host',
        '127.0.0.1',
        '--port',
        '4100',
        '--ctx',
        '512',
        '--threads',
        '1',
        '--parallel',
        '4',
        '--name',
        'demo-small',
      ],
    ],
    [
      'with the parent-watch preload',
      { ...base, parentWatchImport: 'file:///w.mjs' },
      [
        '--import',
        'file:///w.mjs',
        base.serverPath,
        '--model',
        '/m/demo-small.gguf',
        '--host',
        '127.0.0.1',
        '--port',
        '4100',
        '--ctx',
        '512',
        '--threads',
        '1',
        '--parallel',
        '4',
        '--name',
        'demo-small',
      ],
    ],
    [
      'from source: the loader comes first',
      { ...base, execArgv: ['--import', 'file:///r/node_modules/tsx/dist/loader.mjs'], parentWatchImport: 'file:///w.mjs' },
      [
        '--import',
        'file:///r/node_modules/tsx/dist/loader.mjs',
        '--import',
        'file:///w.mjs',
        base.serverPath,
        '--model',
        '/m/demo-small.gguf',
        '--host',
        '127.0.0.1',
        '--port',
        '4100',
        '--ctx',
        '512',
        '--threads',
        '1',
        '--parallel',
        '4',
        '--name',
        'demo-small',
      ],
    ],
    [
      'threads and parallel never below 1',
      { ...base, threads: 0, parallel: 0 },
      [
        base.serverPath,
        '--model',
        '/m/demo-small.gguf',
        '--host',
        '127.0.0.1',
        '--port',
        '4100',
        '--ctx',
        '512',
        '--threads',
        '1',
        '--parallel',
        '1',
        '--name',
        'demo-small',
      ],
    ],
    [
      'model ids pass as one argument',
      { ...base, name: 'org/My Model', contextLength: 8192 },
      [
        base.serverPath,
        '--model',
        '/m/demo-small.gguf',
        '--host',
        '127.0.0.1',
        '--port',
        '4100',
        '--ctx',
        '8192',
        '--threads',
        '1',
        '--parallel',
        '4',
        '--name',
        'org/My Model',
      ],
    ],
  ])('%s', (_name, input, args) => {
    expect(builtinCommand(input)).toEqual({ cmd: '/usr/bin/node', args });
  });
});

describe('upstreamBase', () => {
  it.each([
    ['http://h:8000', 'http://h:8000'],
    ['http://h:8000/', 'http://h:8000'],
    ['http://h:8000/v1', 'http://h:8000'],
    ['http://h:8000/v1/', 'http://h:8000'],
    ['https://h/proxy/v1', 'https://h/proxy'],
  ])('%s → %s', (input, out) => expect(upstreamBase(input)).toBe(out));
});

describe('modelFileName', () => {
  it.each([
    ['demo-small', 'demo-small.gguf'],
    ['llama-3.1-8b_q4', 'llama-3.1-8b_q4.gguf'],
    ['org_model', 'org_model.gguf'],
  ])('a plain id is its own name: %s → %s', (model, file) => expect(modelFileName(model)).toBe(file));

  it.each([
    ['org/model', /^org_model~[0-9a-f]{16}\.gguf$/],
    ['org:model', /^org_model~[0-9a-f]{16}\.gguf$/],
    ['Org_Model', /^org_model~[0-9a-f]{16}\.gguf$/],
    ['../escape', /^escape~[0-9a-f]{16}\.gguf$/],
    ['/', /^model~[0-9a-f]{16}\.gguf$/],
  ])('any other id gets a slug and a hash: %s', (model, file) => expect(modelFileName(model)).toMatch(file));

  it('never maps two ids to one file, also when a file system ignores case', () => {
    const ids = ['org/model', 'org:model', 'org_model', 'Org_Model', 'ORG/MODEL', 'org model', 'org__model', 'org.model', 'a', 'A', '../a', '.a'];
    const names = ids.map((id) => modelFileName(id).toLowerCase());
    expect(new Set(names).size).toBe(ids.length);
    for (const n of names) expect(n).not.toContain('/');
  });
});
