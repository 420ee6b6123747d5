import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../nodes/agent/config';
import { launchdPlist, managerCommands, serviceArgs, serviceFile, systemdArg, systemdUnit, type ServicePlan } from '../../nodes/agent/service';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = path.join(ROOT, 'nodes/bin/porten.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'porten-service-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const defaults = { hostname: 'gpu-box', homedir: '/home/ada' };
function install(env: Record<string, string>, argv: string[]) {
  const r = parseConfig(env, ['service', 'install', ...argv], defaults);
  if (!r.ok || r.cmd.command !== 'service' || !r.cmd.config) throw new Error(r.ok ? 'not install' : r.error);
  return r.cmd;
}
const plan = (over: Partial<ServicePlan> = {}): ServicePlan => {
  const c = install({ PORTEN_NODE_KEY: 'node-secret-key', PORTEN_REGION: 'eu west' }, ['--edge', 'https://edge.example', '--budget-mb', '20000']);
  return {
    platform: 'linux',
    scope: 'user',
    execPath: process.execPath,
    binPath: BIN,
    args: serviceArgs(c.config!, c.given),
    envFile: '/home/ada/.porten/agent.env',
    home: '/home/ada',
    version: '0.1.0',
    ...over,
  };
};

/** `systemd-analyze verify` on a unit file: [exit code, stderr]. User units need a runtime dir for the user manager. */
function verify(unit: string, user: boolean): [number | null, string] {
  const file = path.join(tmp, 'porten.service');
  writeFileSync(file, unit);
  const runtime = mkdtempSync(path.join(tmp, 'xdg-'));
  const r = spawnSync('systemd-analyze', [...(user ? ['--user'] : []), 'verify', file], {
    encoding: 'utf8',
    env: { ...process.env, XDG_RUNTIME_DIR: runtime },
  });
  return [r.status, r.stderr];
}

describe('systemd unit', () => {
  it('carries the engine and combined-node flags, with the llama-server path resolved (the service starts elsewhere)', () => {
    const c = install({ PORTEN_NODE_KEY: 'k', PORTEN_RPC_WORKERS: '10.0.0.2:50052=8000' }, [
      '--gguf-engine',
      'llama-server',
      '--llama-server',
      '~/llama.cpp/llama-server',
    ]);
    expect(serviceArgs(c.config!, c.given)).toEqual([
      'run',
      '--gguf-engine',
      'llama-server',
      '--rpc-workers',
      '10.0.0.2:50052=8000',
      '--credentials',
      '/home/ada/.porten/credentials.json',
      '--models-dir',
      '/home/ada/.porten/models',
      '--status-file',
      '/home/ada/.porten/status.json',
      '--llama-server',
      '/home/ada/llama.cpp/llama-server',
    ]);
  });

  it('writes `porten run` with the given flags and resolved paths, and never the node key', () => {
    const p = plan();
    expect(p.args).toEqual([
      'run',
      '--edge',
      'https://edge.example',
      '--budget-mb',
      '20000',
      '--region',
      'eu west',
      '--credentials',
      '/home/ada/.porten/credentials.json',
      '--models-dir',
      '/home/ada/.porten/models',
      '--status-file',
      '/home/ada/.porten/status.json',
    ]);
    const unit = systemdUnit(p);
    expect(unit).not.toContain('node-secret-key');
    expect(unit).toContain('ExecStart=');
    expect(unit).toContain('"eu west"');
    expect(unit).toMatch(/^EnvironmentFile=-\/home\/ada\/\.porten\/agent\.env$/m);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^RestartPreventExitStatus=2 3$/m);
    expect(unit).toMatch(/^WantedBy=default\.target$/m);
    expect(unit).not.toMatch(/^User=/m);
  });

  it.each([true, false])('passes systemd-analyze verify (user unit: %s)', (user) => {
    const unit = systemdUnit(plan(user ? {} : { scope: 'system', user: os.userInfo().username }));
    const [code, stderr] = verify(unit, user);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    if (!user) expect(unit).toMatch(/^WantedBy=multi-user\.target$/m);
  });

  it('verify is a real check: it rejects a unit whose program does not exist', () => {
    const [code, stderr] = verify(systemdUnit(plan({ execPath: '/nonexistent/node' })), false);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/nonexistent/);
  });

  it.each([
    ['plain', '/usr/bin/node', '/usr/bin/node'],
    ['a space', 'eu west', '"eu west"'],
    ['specifiers and variables', '50%$HOME', '"50%%$$HOME"'],
    ['quotes and backslashes', 'a"b\\c', '"a\\"b\\\\c"'],
  ])('quotes command-line arguments: %s', (_n, arg, want) => {
    expect(systemdArg(arg)).toBe(want);
  });
});

describe('launchd plist', () => {
  it('is a valid property list with the keys launchd needs, and no secret', () => {
    const p = plan({ platform: 'darwin', home: '/Users/ada', envFile: '/Users/ada/.porten/agent.env' });
    const xml = launchdPlist(p);
    expect(xml).not.toContain('node-secret-key');
    // plutil is not available here: Python's plistlib (expat underneath) parses it strictly instead.
    const parsed = JSON.parse(
      execFileSync('python3', ['-c', 'import sys, json, plistlib; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))'], {
        input: xml,
        encoding: 'utf8',
      }),
    );
    expect(parsed).toEqual({
      Label: 'dev.porten.agent',
      ProgramArguments: [process.execPath, '--env-file-if-exists=/Users/ada/.porten/agent.env', BIN, ...p.args],
      WorkingDirectory: '/Users/ada',
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      ThrottleInterval: 10,
      ExitTimeOut: 30,
      StandardOutPath: '/Users/ada/Library/Logs/porten.log',
      StandardErrorPath: '/Users/ada/Library/Logs/porten.log',
    });
    const system = JSON.parse(
      execFileSync('python3', ['-c', 'import sys, json, plistlib; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))'], {
        input: launchdPlist({ ...p, scope: 'system', user: 'ada' }),
        encoding: 'utf8',
      }),
    );
    expect(system.UserName).toBe('ada');
  });

  it('escapes XML in arguments', () => {
    expect(launchdPlist(plan({ platform: 'darwin', args: ['run', '--region', 'a<b&"c"'] }))).toContain('<string>a&lt;b&amp;&quot;c&quot;</string>');
  });
});

describe('paths and service manager commands', () => {
  it.each([
    ['linux', 'user', '/home/ada/.config/systemd/user/porten.service'],
    ['linux', 'system', '/etc/systemd/system/porten.service'],
    ['darwin', 'user', '/home/ada/Library/LaunchAgents/dev.porten.agent.plist'],
    ['darwin', 'system', '/Library/LaunchDaemons/dev.porten.agent.plist'],
  ] as const)('%s %s → %s', (platform, scope, file) => {
    expect(serviceFile(platform, scope, '/home/ada')).toBe(file);
  });

  it('systemctl --user for user units, launchctl in the gui domain on macOS', () => {
    expect(managerCommands('linux', 'user', 'f', 1000, '/h').install).toEqual([
      ['systemctl', '--user', 'daemon-reload'],
      ['systemctl', '--user', 'enable', '--now', 'porten.service'],
    ]);
    expect(managerCommands('darwin', 'user', '/h/Library/LaunchAgents/x.plist', 501, '/h').install[1]).toEqual([
      'launchctl',
      'bootstrap',
      'gui/501',
      '/h/Library/LaunchAgents/x.plist',
    ]);
    expect(managerCommands('linux', 'user', 'f', 1000, '/h').logs).toBe('journalctl --user -u porten -f');
  });
});

describe('porten service (the real CLI)', () => {
  it('--dry-run prints the unit it would write, from the current flags, without the key', () => {
    const home = mkdtempSync(path.join(tmp, 'home-'));
    const out = execFileSync(
      process.execPath,
      [BIN, 'service', 'install', '--dry-run', '--edge', 'https://edge.example', '--models-dir', path.join(home, 'm')],
      {
        encoding: 'utf8',
        env: { ...process.env, HOME: home, PORTEN_NODE_KEY: 'node-secret-key' },
      },
    );
    expect(out).toContain(`# ${path.join(home, '.config/systemd/user/porten.service')}`);
    expect(out).toContain(`--models-dir ${path.join(home, 'm')}`);
    expect(out).not.toContain('node-secret-key');
    const [code, stderr] = verify(out.split('\n').slice(1).join('\n'), true);
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('install refuses a configuration `run` would refuse (exit 2, one line)', () => {
    const home = mkdtempSync(path.join(tmp, 'home-'));
    const r = spawnSync(process.execPath, [BIN, 'service', 'install'], { encoding: 'utf8', env: { ...process.env, HOME: home, PORTEN_NODE_KEY: '' } });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^porten service: .*node-key.*required/);
  });
});
