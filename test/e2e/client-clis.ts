import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

// Running the coding-agent CLIs (OpenCode, Continue) as a user would, but in a
// throwaway home: their config points at porten, their own switches turn off
// updates, telemetry and sharing, and nothing of the real user's setup leaks in.

const require = createRequire(import.meta.url);

export interface CliResult {
  code: number | string;
  stdout: string;
  stderr: string;
}

/** Where a CLI runs: its environment (a fresh HOME, no inherited keys) and working directory. */
export interface CliHome {
  home: string;
  cwd: string;
  env: Record<string, string>;
}

/**
 * Runs `bin args` to completion in its own process group and returns its exit
 * code and output. Past `timeoutMs` the whole group is killed and the promise
 * rejects with the tail of both streams, so a hung CLI fails the test with its
 * own words instead of a bare timeout.
 */
export function runCli(bin: string, args: string[], where: CliHome, timeoutMs: number): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: where.cwd, env: where.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
      reject(new Error(`${path.basename(bin)} ${args[0]} did not finish in ${timeoutMs} ms\nstdout: ${stdout.slice(-2000)}\nstderr: ${stderr.slice(-4000)}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? 'unknown', stdout, stderr });
    });
  });
}

/** A fresh HOME with a project directory and XDG dirs inside it; `extra` adds the CLI's own switches. */
export function cliHome(root: string, extra: Record<string, string>): CliHome {
  const home = path.join(root, 'home');
  const cwd = path.join(root, 'project');
  mkdirSync(home, { recursive: true });
  mkdirSync(cwd, { recursive: true });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    XDG_STATE_HOME: path.join(home, '.local', 'state'),
    TERM: 'dumb',
    NO_COLOR: '1',
    CI: '1',
    ...extra,
  };
  return { home, cwd, env };
}

export interface ClientTarget {
  /** The OpenAI-compatible base URL, ending in `/v1`. */
  baseURL: string;
  apiKey: string;
  model: string;
  contextLength: number;
  /** The completion budget the CLI asks for (`max_tokens`); small keeps a random-weight turn short. */
  outputTokens: number;
  /** Marks the model as a reasoning model in the CLI's config. */
  reasoning?: boolean;
}

// ---- OpenCode (npm `opencode-ai`) --------------------------------------------------------------------

/**
 * The platform binary of `opencode-ai`. Its npm wrapper copies this binary in a
 * postinstall script, which `allowScripts` does not run; the per-platform
 * optional packages carry the same binary, so the tests use it directly.
 */
export function opencodeBinary(): string {
  const avx2 = process.platform === 'linux' && /(^|\s)avx2(\s|$)/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  const names = [`opencode-${os}-${process.arch}${avx2 ? '' : '-baseline'}`, `opencode-${os}-${process.arch}`];
  for (const name of names) {
    try {
      return path.join(path.dirname(require.resolve(`${name}/package.json`)), 'bin', os === 'windows' ? 'opencode.exe' : 'opencode');
    } catch {
      // try the next variant
    }
  }
  throw new Error(`no OpenCode binary for ${os}-${process.arch}: run npm install (the optional package ${names[0]} is missing)`);
}

/** OpenCode's config for porten as a custom OpenAI-compatible provider (what docs/clients.md shows). */
export function opencodeConfig(t: ClientTarget) {
  return {
    $schema: 'https://opencode.ai/config.json',
    autoupdate: false,
    share: 'disabled',
    model: `porten/${t.model}`,
    small_model: `porten/${t.model}`,
    // Every tool is still offered to the model; the ones with side effects ask first, and `opencode run`
    // rejects every ask. A random-weight model that happens to call `bash` runs nothing.
    permission: { bash: 'ask', edit: 'ask', webfetch: 'ask', external_directory: 'deny' },
    provider: {
      porten: {
        npm: '@ai-sdk/openai-compatible',
        name: 'porten',
        options: { baseURL: t.baseURL, apiKey: t.apiKey },
        models: {
          [t.model]: { name: t.model, tool_call: true, reasoning: t.reasoning ?? false, limit: { context: t.contextLength, output: t.outputTokens } },
        },
      },
    },
  };
}

export const OPENCODE_OFFLINE_ENV = {
  OPENCODE_DISABLE_AUTOUPDATE: '1',
  OPENCODE_DISABLE_MODELS_FETCH: '1',
  OPENCODE_DISABLE_LSP_DOWNLOAD: '1',
  OPENCODE_DISABLE_SHARE: '1',
  OPENCODE_DISABLE_DEFAULT_PLUGINS: '1',
  OPENCODE_DISABLE_CLAUDE_CODE: '1',
  OPENCODE_DISABLE_EXTERNAL_SKILLS: '1',
};

/**
 * A home for OpenCode: its config file, the offline switches, and a global config
 * directory whose dependencies already count as installed. On every start
 * OpenCode installs `@opencode-ai/plugin` into that directory in the background
 * (for user plugins, which these runs have none of) unless its package.json and
 * lock file already list it; listing it keeps the run off the registry.
 */
export function opencodeHome(root: string, t: ClientTarget): CliHome {
  const where = cliHome(root, OPENCODE_OFFLINE_ENV);
  const configFile = path.join(where.home, 'opencode.json');
  writeFileSync(configFile, JSON.stringify(opencodeConfig(t), null, 2));
  where.env.OPENCODE_CONFIG = configFile;
  const configDir = path.join(where.env.XDG_CONFIG_HOME, 'opencode');
  mkdirSync(path.join(configDir, 'node_modules'), { recursive: true });
  const deps = { '@opencode-ai/plugin': opencodeVersion() };
  writeFileSync(path.join(configDir, 'package.json'), JSON.stringify({ dependencies: deps }));
  writeFileSync(path.join(configDir, 'package-lock.json'), JSON.stringify({ packages: { '': { dependencies: deps } } }));
  return where;
}

function opencodeVersion(): string {
  return (JSON.parse(readFileSync(require.resolve('opencode-ai/package.json'), 'utf8')) as { version: string }).version;
}

// ---- Continue CLI (npm `@continuedev/cli`, command `cn`) ------------------------------------------------

export function continueEntry(): string {
  return path.join(path.dirname(require.resolve('@continuedev/cli/package.json')), 'dist', 'cn.js');
}

/** Continue's config.yaml for porten as an OpenAI-compatible model (what docs/clients.md shows). */
export function continueConfigYaml(t: ClientTarget): string {
  return [
    'name: porten',
    'version: 1.0.0',
    'schema: v1',
    'models:',
    `  - name: ${t.model} on porten`,
    '    provider: openai',
    `    model: ${t.model}`,
    `    apiBase: ${t.baseURL}`,
    `    apiKey: ${t.apiKey}`,
    '    roles: [chat, edit, apply]',
    '    capabilities: [tool_use]',
    '    defaultCompletionOptions:',
    `      contextLength: ${t.contextLength}`,
    `      maxTokens: ${t.outputTokens}`,
    '',
  ].join('\n');
}

export const CONTINUE_OFFLINE_ENV = {
  CONTINUE_CLI_ENABLE_TELEMETRY: '0',
  CONTINUE_METRICS_ENABLED: '0',
  CONTINUE_CLI_AUTO_UPDATED: '1',
};

/** A home for Continue: config.yaml, its global dir inside the home, telemetry and self-update off. */
export function continueHome(root: string, t: ClientTarget): CliHome & { configFile: string } {
  const where = cliHome(root, CONTINUE_OFFLINE_ENV);
  where.env.CONTINUE_GLOBAL_DIR = path.join(where.home, '.continue');
  const configFile = path.join(where.home, 'config.yaml');
  writeFileSync(configFile, continueConfigYaml(t));
  return { ...where, configFile };
}
