import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../nodes/agent/config';

const defaults = { hostname: 'gpu-box', homedir: '/home/ada' };
const ok = (env: Record<string, string>, argv: string[]) => {
  const r = parseConfig(env, argv, defaults);
  if (!r.ok) throw new Error(r.error);
  return r.config;
};

describe('parseConfig', () => {
  it('fills defaults for `run`', () => {
    expect(ok({ PORTEN_NODE_KEY: 'k' }, ['run'])).toEqual({
      command: 'run', edgeUrl: 'http://127.0.0.1:8787', nodeId: 'gpu-box', nodeKey: 'k',
      modelsDir: '/home/ada/.porten/models', maxConcurrency: 4, threads: 1, credentialsPath: '/home/ada/.porten/credentials.json',
    });
  });

  it.each([
    ['flag wins over env', { PORTEN_EDGE_URL: 'http://a:1', PORTEN_NODE_KEY: 'k' }, ['run', '--edge', 'https://b.example/'], { edgeUrl: 'https://b.example' }],
    ['--flag=value form', { PORTEN_NODE_KEY: 'k' }, ['run', '--node-id=n7'], { nodeId: 'n7' }],
    ['env for every setting', {
      PORTEN_NODE_KEY: 'k', PORTEN_NODE_ID: 'n1', PORTEN_MODELS_DIR: '/m', PORTEN_VRAM_BUDGET_MB: '8192',
      PORTEN_MAX_CONCURRENCY: '16', PORTEN_ENGINE_THREADS: '8', PORTEN_REGION: 'eu', PORTEN_OPENAI_UPSTREAM: 'http://vllm:8000/v1/',
    }, ['run'], { nodeId: 'n1', modelsDir: '/m', budgetMb: 8192, maxConcurrency: 16, threads: 8, region: 'eu', openaiUpstream: 'http://vllm:8000/v1' }],
    ['~ expands in the models dir', { PORTEN_NODE_KEY: 'k' }, ['run', '--models-dir', '~/w'], { modelsDir: '/home/ada/w' }],
    ['empty env values count as unset', { PORTEN_NODE_KEY: 'k', PORTEN_MAX_CONCURRENCY: ' ' }, ['run'], { maxConcurrency: 4 }],
    ['--help needs no key', {}, ['--help'], { command: 'help' }],
    ['no command means help', {}, [], { command: 'help' }],
  ])('%s', (_name, env, argv, expected) => {
    expect(ok(env, argv)).toMatchObject(expected);
  });

  it.each([
    ['missing node key', {}, ['run'], /node-key.*required/],
    ['unknown flag', { PORTEN_NODE_KEY: 'k' }, ['run', '--edg', 'x'], /--edg/],
    ['unknown command', {}, ['serve'], /unknown command: serve/],
    ['non-http edge', { PORTEN_NODE_KEY: 'k' }, ['run', '--edge', 'ftp://x'], /http/],
    ['not a URL', { PORTEN_NODE_KEY: 'k', PORTEN_EDGE_URL: 'nope' }, ['run'], /URL/],
    ['zero concurrency', { PORTEN_NODE_KEY: 'k' }, ['run', '--max-concurrency', '0'], /at least 1/],
    ['non-numeric budget', { PORTEN_NODE_KEY: 'k', PORTEN_VRAM_BUDGET_MB: '8GB' }, ['run'], /whole number/],
    ['negative threads', { PORTEN_NODE_KEY: 'k' }, ['run', '--threads=-1'], /whole number/],
    ['extra positional', { PORTEN_NODE_KEY: 'k' }, ['run', 'now'], /unexpected argument/],
  ])('rejects %s', (_name, env, argv, message) => {
    const r = parseConfig(env, argv, defaults);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(message);
  });
});
