import { describe, expect, it } from 'vitest';
import { commandHelp, generalHelp } from '../../nodes/agent/cli-help';
import { parseConfig, type ParsedCommand } from '../../nodes/agent/config';
import { COMMANDS, FLAGS, type FlagSpec } from '../../nodes/agent/flags';

const defaults = { hostname: 'gpu-box', homedir: '/home/ada' };
const parse = (env: Record<string, string>, argv: string[]): ParsedCommand => {
  const r = parseConfig(env, argv, defaults);
  if (!r.ok) throw new Error(r.error);
  return r.cmd;
};
const run = (env: Record<string, string>, argv: string[]) => {
  const c = parse(env, argv);
  if (c.command !== 'run') throw new Error(`parsed as ${c.command}`);
  return c.config;
};

describe('parseConfig: run', () => {
  it('fills defaults', () => {
    expect(run({ PORTEN_NODE_KEY: 'k' }, ['run'])).toEqual({
      edgeUrl: 'http://127.0.0.1:8787',
      nodeId: 'gpu-box',
      nodeKey: 'k',
      modelsDir: '/home/ada/.porten/models',
      maxConcurrency: 4,
      credentialsPath: '/home/ada/.porten/credentials.json',
      openaiUpstreamAllow: [],
      nodeKeyFromFlag: false,
      statusFile: '/home/ada/.porten/status.json',
      ggufEngine: 'builtin',
    });
  });

  it('notes a key given as a flag (visible in ps) and reads upstream allow-lists', () => {
    expect(run({}, ['run', '--node-key', 'k'])).toMatchObject({ nodeKey: 'k', nodeKeyFromFlag: true });
    expect(run({ PORTEN_NODE_KEY: 'k' }, ['run'])).toMatchObject({ nodeKeyFromFlag: false });
    expect(run({ PORTEN_NODE_KEY: 'k', PORTEN_OPENAI_UPSTREAM_ALLOW: 'http://a:8000/v1/, https://b.example' }, ['run'])).toMatchObject({
      openaiUpstreamAllow: ['http://a:8000/v1', 'https://b.example'],
    });
    expect(parseConfig({ PORTEN_NODE_KEY: 'k', PORTEN_OPENAI_UPSTREAM_ALLOW: 'ftp://x' }, ['run'], defaults)).toMatchObject({ ok: false });
  });

  it.each([
    ['flag wins over env', { PORTEN_EDGE_URL: 'http://a:1', PORTEN_NODE_KEY: 'k' }, ['run', '--edge', 'https://b.example/'], { edgeUrl: 'https://b.example' }],
    ['--flag=value form', { PORTEN_NODE_KEY: 'k' }, ['run', '--node-id=n7'], { nodeId: 'n7' }],
    [
      'env for every setting',
      {
        PORTEN_NODE_KEY: 'k',
        PORTEN_NODE_ID: 'n1',
        PORTEN_MODELS_DIR: '/m',
        PORTEN_VRAM_BUDGET_MB: '8192',
        PORTEN_MAX_CONCURRENCY: '16',
        PORTEN_ENGINE_THREADS: '8',
        PORTEN_REGION: 'eu',
        PORTEN_OPENAI_UPSTREAM: 'http://vllm:8000/v1/',
        PORTEN_HF_ENDPOINT: 'https://hf.internal/',
        PORTEN_STATUS_FILE: '/run/porten.json',
        PORTEN_GGUF_ENGINE: 'llama-server',
        PORTEN_LLAMA_SERVER: '/opt/llama.cpp/bin/llama-server',
        PORTEN_RPC_WORKERS: '10.0.0.2:50052,10.0.0.3:50052=16000',
        HF_TOKEN: 'hf_x',
      },
      ['run'],
      {
        nodeId: 'n1',
        modelsDir: '/m',
        budgetMb: 8192,
        maxConcurrency: 16,
        threads: 8,
        region: 'eu',
        openaiUpstream: 'http://vllm:8000/v1',
        hfEndpoint: 'https://hf.internal',
        statusFile: '/run/porten.json',
        ggufEngine: 'llama-server',
        llamaServer: '/opt/llama.cpp/bin/llama-server',
        rpcWorkers: [{ endpoint: '10.0.0.2:50052' }, { endpoint: '10.0.0.3:50052', capMb: 16000 }],
        hfToken: 'hf_x',
      },
    ],
    ['HF_ENDPOINT as the HF tools use it', { PORTEN_NODE_KEY: 'k', HF_ENDPOINT: 'https://mirror.example' }, ['run'], { hfEndpoint: 'https://mirror.example' }],
    [
      'PORTEN_HF_ENDPOINT wins over HF_ENDPOINT',
      { PORTEN_NODE_KEY: 'k', HF_ENDPOINT: 'https://a', PORTEN_HF_ENDPOINT: 'https://b' },
      ['run'],
      { hfEndpoint: 'https://b' },
    ],
    ['~ expands in the models dir', { PORTEN_NODE_KEY: 'k' }, ['run', '--models-dir', '~/w'], { modelsDir: '/home/ada/w' }],
    ['empty env values count as unset', { PORTEN_NODE_KEY: 'k', PORTEN_MAX_CONCURRENCY: ' ' }, ['run'], { maxConcurrency: 4 }],
    ['threads unset means "physical cores", decided at run time', { PORTEN_NODE_KEY: 'k' }, ['run'], { threads: undefined }],
    [
      '--gguf-engine and --rpc-workers as flags',
      { PORTEN_NODE_KEY: 'k' },
      ['run', '--gguf-engine', 'llama-server', '--rpc-workers', '[::1]:50052=8'],
      { ggufEngine: 'llama-server', rpcWorkers: [{ endpoint: '[::1]:50052', capMb: 8 }] },
    ],
    [
      '--llama-server resolves ~ (a service starts elsewhere)',
      { PORTEN_NODE_KEY: 'k' },
      ['run', '--llama-server', '~/llama/llama-server'],
      { llamaServer: '/home/ada/llama/llama-server' },
    ],
  ])('%s', (_name, env, argv, expected) => {
    expect(run(env, argv)).toMatchObject(expected);
  });

  it('records which flags were given, by flag or variable, for `service install`', () => {
    const c = parse({ PORTEN_NODE_KEY: 'k', PORTEN_REGION: 'eu' }, ['run', '--budget-mb', '100']);
    expect(c.command === 'run' && c.given).toEqual({ 'node-key': 'k', region: 'eu', 'budget-mb': '100' });
  });
});

describe('parseConfig: commands', () => {
  it.each<[string, Record<string, string>, string[], ParsedCommand]>([
    ['no command means help', {}, [], { command: 'help' }],
    ['--help alone', {}, ['--help'], { command: 'help' }],
    ['-h alone', {}, ['-h'], { command: 'help' }],
    ['help <command>', {}, ['help', 'run'], { command: 'help', topic: 'run' }],
    ['<command> --help needs no key', {}, ['run', '--help'], { command: 'help', topic: 'run' }],
    ['<command> -h', {}, ['service', '-h'], { command: 'help', topic: 'service' }],
    ['--version', {}, ['--version'], { command: 'version' }],
    ['-V', {}, ['-V'], { command: 'version' }],
    ['version', {}, ['version'], { command: 'version' }],
    ['status', {}, ['status'], { command: 'status', statusFile: '/home/ada/.porten/status.json', json: false }],
    ['status --json with its variable', { PORTEN_STATUS_FILE: '/s.json' }, ['status', '--json'], { command: 'status', statusFile: '/s.json', json: true }],
    ['models', { PORTEN_MODELS_DIR: '/m' }, ['models'], { command: 'models', modelsDir: '/m', json: false }],
    ['login', {}, ['login', '--edge', 'https://e/'], { command: 'login', edgeUrl: 'https://e', credentialsPath: '/home/ada/.porten/credentials.json' }],
    ['service status defaults to the user scope', {}, ['service', 'status'], { command: 'service', action: 'status', scope: 'user', dryRun: false, given: {} }],
    [
      'worker defaults: loopback, port 50052, all devices, memory and threads decided at run time',
      {},
      ['worker'],
      { command: 'worker', config: { host: '127.0.0.1', port: 50052 } },
    ],
    [
      'worker flags',
      {},
      ['worker', '--host', '10.0.0.2', '--port', '50060', '--device', 'CUDA0,CUDA1', '--memory-mb', '20000', '--threads', '8'],
      { command: 'worker', config: { host: '10.0.0.2', port: 50060, device: 'CUDA0,CUDA1', memoryMb: 20000, threads: 8 } },
    ],
    [
      'worker variables',
      { PORTEN_WORKER_HOST: '0.0.0.0', PORTEN_WORKER_PORT: '6000', PORTEN_WORKER_DEVICE: 'Metal', PORTEN_WORKER_MEMORY_MB: '512', PORTEN_ENGINE_THREADS: '2' },
      ['worker'],
      { command: 'worker', config: { host: '0.0.0.0', port: 6000, device: 'Metal', memoryMb: 512, threads: 2 } },
    ],
    ['worker --help', {}, ['worker', '--help'], { command: 'help', topic: 'worker' }],
    [
      'service uninstall --system',
      {},
      ['service', 'uninstall', '--system'],
      { command: 'service', action: 'uninstall', scope: 'system', dryRun: false, given: {} },
    ],
  ])('%s', (_name, env, argv, expected) => {
    expect(parse(env, argv)).toEqual(expected);
  });

  it('service install validates the run configuration it will write', () => {
    const c = parse({ PORTEN_NODE_KEY: 'k' }, ['service', 'install', '--edge', 'https://e', '--dry-run']);
    expect(c).toMatchObject({ command: 'service', action: 'install', scope: 'user', dryRun: true, config: { edgeUrl: 'https://e', nodeKey: 'k' } });
    expect(parseConfig({}, ['service', 'install'], defaults)).toMatchObject({ ok: false, error: expect.stringMatching(/node-key.*required/) });
  });

  it.each([
    ['missing node key', {}, ['run'], /^porten run: .*node-key.*required/],
    [
      'unknown flag, one line naming the command',
      { PORTEN_NODE_KEY: 'k' },
      ['run', '--edg', 'x'],
      /^porten run: unknown flag --edg \(see `porten help run`\)$/,
    ],
    ['a flag another command takes', {}, ['status', '--models-dir', '/m'], /^porten status: unknown flag --models-dir/],
    ['a flag before the command', {}, ['--edge', 'x', 'run'], /^porten: unknown flag --edge/],
    ['a missing value', {}, ['run', '--edge'], /^porten run: --edge needs a value/],
    ['a value for a switch', {}, ['status', '--json=yes'], /^porten status: --json takes no value/],
    ['unknown command', {}, ['serve'], /^porten: unknown command: serve/],
    ['help for an unknown command', {}, ['help', 'serve'], /no such command: serve/],
    ['non-http edge', { PORTEN_NODE_KEY: 'k' }, ['run', '--edge', 'ftp://x'], /http/],
    ['not a URL', { PORTEN_NODE_KEY: 'k', PORTEN_EDGE_URL: 'nope' }, ['run'], /URL/],
    ['zero concurrency', { PORTEN_NODE_KEY: 'k' }, ['run', '--max-concurrency', '0'], /at least 1/],
    ['non-numeric budget', { PORTEN_NODE_KEY: 'k', PORTEN_VRAM_BUDGET_MB: '8GB' }, ['run'], /whole number/],
    ['negative threads', { PORTEN_NODE_KEY: 'k' }, ['run', '--threads=-1'], /whole number/],
    ['extra positional', { PORTEN_NODE_KEY: 'k' }, ['run', 'now'], /unexpected argument: now/],
    ['service without an action', {}, ['service'], /install, uninstall or status/],
    ['service with an unknown action', {}, ['service', 'start'], /unknown action: start/],
    ['--user with --system', {}, ['service', 'status', '--user', '--system'], /exclude each other/],
    ['an unknown GGUF engine', { PORTEN_NODE_KEY: 'k' }, ['run', '--gguf-engine', 'vllm'], /^porten run: --gguf-engine .*builtin or llama-server/],
    ['a malformed RPC worker list', { PORTEN_NODE_KEY: 'k', PORTEN_RPC_WORKERS: 'host-without-port' }, ['run'], /^porten run: --rpc-workers/],
    ['a worker flag on run', { PORTEN_NODE_KEY: 'k' }, ['run', '--port', '50052'], /^porten run: unknown flag --port \(see `porten help run`\)$/],
    ['a run flag on worker', {}, ['worker', '--edge', 'http://e'], /^porten worker: unknown flag --edge \(see `porten help worker`\)$/],
    ['a worker port out of range', {}, ['worker', '--port', '70000'], /^porten worker: --port .*at most 65534/],
    ['a worker with no lent memory', {}, ['worker', '--memory-mb', '0'], /^porten worker: --memory-mb .*at least 1/],
    ['an extra worker argument', {}, ['worker', 'now'], /^porten worker: unexpected argument: now/],
  ])('rejects %s', (_name, env, argv, message) => {
    const r = parseConfig(env, argv, defaults);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatch(message);
      expect(r.error).not.toContain('\n');
    }
  });
});

describe('help', () => {
  it('lists every command', () => {
    const text = generalHelp();
    for (const name of Object.keys(COMMANDS)) expect(text).toMatch(new RegExp(`^  ${name} `, 'm'));
  });

  it.each(Object.keys(COMMANDS) as (keyof typeof COMMANDS)[])('`porten help %s` shows its usage and every flag it takes, with its variable', (name) => {
    const text = commandHelp(name);
    expect(text.startsWith(`Usage: ${COMMANDS[name].usage}\n`)).toBe(true);
    for (const f of COMMANDS[name].flags) {
      const spec: FlagSpec = FLAGS[f];
      expect(text).toContain(`--${f}`);
      if (spec.env) expect(text).toContain(spec.env);
    }
  });

  it('every flag with a variable names a PORTEN_ variable, once', () => {
    const envs = (Object.values(FLAGS) as FlagSpec[]).flatMap((f) => (f.env ? [f.env] : []));
    expect(new Set(envs).size).toBe(envs.length);
    for (const e of envs) expect(e).toMatch(/^PORTEN_[A-Z_]+$/);
  });
});
