import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AGENT_VERSION } from '../version';
import type { ParsedCommand } from './config';
import { writeCredentials } from './credentials';
import { launchdPlist, managerCommands, serviceArgs, serviceFile, systemdUnit, type ServicePlan } from './service';

type ServiceCmd = Extract<ParsedCommand, { command: 'service' }>;

/** `porten service install|uninstall|status`. 0 done; 1 when the service manager refused or the service is not running. */
export function serviceCommand(cmd: ServiceCmd, out: (text: string) => void): number {
  const platform = process.platform;
  if (platform !== 'linux' && platform !== 'darwin') {
    out(`porten service: not supported on ${platform}; run \`porten run\` under your service manager (e.g. NSSM or Task Scheduler on Windows)\n`);
    return 1;
  }
  const home = os.homedir();
  const file = serviceFile(platform, cmd.scope, home);
  const uid = process.getuid?.() ?? 0;
  const mgr = managerCommands(platform, cmd.scope, file, uid, home);

  if (cmd.action === 'status') {
    if (!existsSync(file)) {
      out(`porten service (${cmd.scope}): not installed (${file} is absent)\n`);
      return 1;
    }
    const r = spawnSync(mgr.status[0], mgr.status.slice(1), { encoding: 'utf8' });
    const state = (r.stdout ?? '').trim().split('\n')[0] || (r.error ? r.error.message : 'unknown');
    out(`porten service (${cmd.scope}): ${file}\nstate: ${state}\nlogs: ${mgr.logs}\n`);
    return r.status === 0 ? 0 : 1;
  }

  if (cmd.action === 'uninstall') {
    if (cmd.dryRun) {
      out(`would run: ${mgr.uninstall.map((c) => c.join(' ')).join(' && ')}\nwould remove: ${file}\n`);
      return 0;
    }
    for (const c of mgr.uninstall) spawnSync(c[0], c.slice(1), { stdio: 'ignore' });
    rmSync(file, { force: true });
    out(`removed ${file} (the credentials, env file and models stay)\n`);
    return 0;
  }

  const config = cmd.config!;
  const envFile = path.join(path.dirname(config.credentialsPath), 'agent.env');
  const plan: ServicePlan = {
    platform,
    scope: cmd.scope,
    execPath: process.execPath,
    binPath: realpathSync(process.argv[1] ?? ''),
    args: serviceArgs(config, cmd.given),
    envFile,
    home,
    user: cmd.scope === 'system' && uid !== 0 ? os.userInfo().username : undefined,
    version: AGENT_VERSION,
  };
  const text = platform === 'darwin' ? launchdPlist(plan) : systemdUnit(plan);
  if (cmd.dryRun) {
    out(`# ${file}\n${text}`);
    return 0;
  }
  // Secrets into their 0600 files, never into the unit.
  if (cmd.given['node-key']) writeCredentials(config.credentialsPath, { edge: config.edgeUrl, node_id: config.nodeId, node_key: config.nodeKey });
  if (config.hfToken) {
    mkdirSync(path.dirname(envFile), { recursive: true, mode: 0o700 });
    writeFileSync(envFile, `HF_TOKEN=${config.hfToken}\n`, { mode: 0o600 });
    chmodSync(envFile, 0o600);
  }
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text, { mode: 0o644 });
  out(`wrote ${file}\n`);
  for (const [i, c] of mgr.install.entries()) {
    const r = spawnSync(c[0], c.slice(1), { encoding: 'utf8' });
    if (r.status === 0 || (platform === 'darwin' && i === 0)) continue;
    const why = (r.stderr ?? '').trim().split('\n')[0] || r.error?.message || `exit ${r.status}`;
    out(
      `porten service: \`${c.join(' ')}\` failed: ${why}\nthe ${platform === 'darwin' ? 'plist' : 'unit'} is in place; start it with: ${mgr.install.map((x) => x.join(' ')).join(' && ')}\n`,
    );
    return 1;
  }
  out(`started; logs: ${mgr.logs}\n`);
  if (platform === 'linux' && cmd.scope === 'user') out(`to keep it running after you log out: loginctl enable-linger ${os.userInfo().username}\n`);
  return 0;
}
