import { describe, expect, it } from 'vitest';
import { builtinCommand, modelFileName, upstreamBase } from '../../nodes/engines/args';

const base = {
  execPath: '/usr/bin/node', tsxImport: 'file:///r/node_modules/tsx/dist/loader.mjs', serverPath: '/r/nodes/engines/builtin/server.ts',
  modelPath: '/m/demo-small.gguf', port: 4100, contextLength: 512, threads: 1, parallel: 4, name: 'demo-small',
};

describe('builtinCommand', () => {
  it.each([
    ['plain', base, ['--import', base.tsxImport, base.serverPath, '--model', '/m/demo-small.gguf', '--host', '127.0.0.1', '--port', '4100', '--ctx', '512', '--threads', '1', '--parallel', '4', '--name', 'demo-small']],
    ['with the parent-watch preload', { ...base, parentWatchImport: 'file:///w.mjs' }, ['--import', base.tsxImport, '--import', 'file:///w.mjs', base.serverPath, '--model', '/m/demo-small.gguf', '--host', '127.0.0.1', '--port', '4100', '--ctx', '512', '--threads', '1', '--parallel', '4', '--name', 'demo-small']],
    ['threads and parallel never below 1', { ...base, threads: 0, parallel: 0 }, ['--import', base.tsxImport, base.serverPath, '--model', '/m/demo-small.gguf', '--host', '127.0.0.1', '--port', '4100', '--ctx', '512', '--threads', '1', '--parallel', '1', '--name', 'demo-small']],
    ['model ids pass as one argument', { ...base, name: 'org/My Model', contextLength: 8192 }, ['--import', base.tsxImport, base.serverPath, '--model', '/m/demo-small.gguf', '--host', '127.0.0.1', '--port', '4100', '--ctx', '8192', '--threads', '1', '--parallel', '4', '--name', 'org/My Model']],
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
    ['org/model', 'org_model.gguf'],
    ['../escape', '.._escape.gguf'],
  ])('%s → %s', (model, file) => expect(modelFileName(model)).toBe(file));
});
