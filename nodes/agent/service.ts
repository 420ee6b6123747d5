import path from 'node:path';
import type { AgentConfig } from './config';
import { EXIT } from './exit-codes';
import type { Flag } from './flags';

/**
 * `porten service`: the systemd unit and launchd plist, built from the `run` configuration. Pure:
 * the platform, paths and user are passed in. Secrets never go into these files: the node key lives
 * in the credentials file and HF_TOKEN in an environment file, both mode 0600, which the unit names.
 */
export const SERVICE_NAME = 'porten';
export const LAUNCHD_LABEL = 'dev.porten.agent';

export interface ServicePlan {
  platform: 'linux' | 'darwin';
  scope: 'user' | 'system';
  execPath: string;
  /** Absolute path of bin/porten.js. */
  binPath: string;
  /** Arguments after `porten`: `run --edge …`. */
  args: string[];
  /** KEY=VALUE file the service reads its secret environment from (HF_TOKEN). */
  envFile: string;
  home: string;
  /** For a system service: the account it runs as (omitted when installing as root for root). */
  user?: string;
  version: string;
}

/** Where the unit or plist goes. */
export function serviceFile(platform: ServicePlan['platform'], scope: ServicePlan['scope'], home: string): string {
  if (platform === 'darwin') {
    return scope === 'user' ? path.join(home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`) : `/Library/LaunchDaemons/${LAUNCHD_LABEL}.plist`;
  }
  return scope === 'user' ? path.join(home, '.config', 'systemd', 'user', `${SERVICE_NAME}.service`) : `/etc/systemd/system/${SERVICE_NAME}.service`;
}

/** Flags whose value is a path: written resolved, since a service starts with another working directory and no shell. */
const PATH_FLAGS = new Set<Flag>(['credentials', 'models-dir', 'status-file', 'llama-server']);

/**
 * The `run` command line the service starts with: every flag given (on the command line or through
 * its PORTEN_* variable) except the node key, plus the resolved paths. Edge and node id given
 * nowhere stay out too: the agent reads them from the credentials file, so a new `porten login`
 * needs no new unit.
 */
export function serviceArgs(config: AgentConfig, given: Partial<Record<Flag, string>>): string[] {
  const args = ['run'];
  for (const [flag, value] of Object.entries(given) as [Flag, string][]) {
    if (flag === 'node-key' || PATH_FLAGS.has(flag)) continue;
    args.push(`--${flag}`, value);
  }
  args.push('--credentials', config.credentialsPath, '--models-dir', config.modelsDir, '--status-file', config.statusFile);
  if (config.llamaServer) args.push('--llama-server', config.llamaServer);
  return args;
}

/** One argument of a systemd command line (systemd.service(5) "Command lines"): quoted when needed, `%` and `$` escaped. */
export function systemdArg(a: string): string {
  const escaped = a.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (/^[A-Za-z0-9_@+=:,./-]+$/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** Paths in unit settings other than the command line: specifiers escaped; spaces are allowed there. */
const unitPath = (p: string) => p.replace(/%/g, '%%');

export function systemdUnit(p: ServicePlan): string {
  const exec = [p.execPath, p.binPath, ...p.args].map(systemdArg).join(' ');
  const system = p.scope === 'system';
  return [
    `# Written by \`porten service install\` (porten ${p.version}); run it again to change the flags.`,
    '# No secret here: the node key is in the credentials file, HF_TOKEN in the EnvironmentFile (both mode 0600).',
    '[Unit]',
    'Description=porten node agent',
    ...(system ? ['Wants=network-online.target', 'After=network-online.target'] : []),
    '',
    '[Service]',
    'Type=exec',
    ...(system && p.user ? [`User=${p.user}`] : []),
    `WorkingDirectory=${unitPath(p.home)}`,
    `EnvironmentFile=-${unitPath(p.envFile)}`,
    `ExecStart=${exec}`,
    // Restart after crashes and lost edges alike; a bad command line (exit 2) or a node the edge
    // refused for good (revoked, key refused: exit 3) will not fix itself.
    'Restart=on-failure',
    'RestartSec=10',
    `RestartPreventExitStatus=${EXIT.usage} ${EXIT.refused}`,
    // SIGTERM to the agent only: it stops its engines itself (gracefully), then systemd cleans up the rest.
    'KillMode=mixed',
    'TimeoutStopSec=30',
    'SyslogIdentifier=porten',
    '',
    '[Install]',
    `WantedBy=${system ? 'multi-user.target' : 'default.target'}`,
    '',
  ].join('\n');
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A launchd property list (launchd.plist(5)); logs go to ~/Library/Logs/porten.log. */
export function launchdPlist(p: ServicePlan): string {
  const log = path.join(p.home, 'Library', 'Logs', 'porten.log');
  // launchd has no EnvironmentFile: Node itself reads the same KEY=VALUE file.
  const program = [p.execPath, `--env-file-if-exists=${p.envFile}`, p.binPath, ...p.args];
  const str = (s: string) => `<string>${xml(s)}</string>`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    `<!-- Written by porten service install (porten ${xml(p.version)}). No secret here: see the credentials and env files. -->`,
    '<plist version="1.0">',
    '<dict>',
    `  <key>Label</key>${str(LAUNCHD_LABEL)}`,
    '  <key>ProgramArguments</key>',
    '  <array>',
    ...program.map((a) => `    ${str(a)}`),
    '  </array>',
    ...(p.scope === 'system' && p.user ? [`  <key>UserName</key>${str(p.user)}`] : []),
    `  <key>WorkingDirectory</key>${str(p.home)}`,
    '  <key>RunAtLoad</key><true/>',
    // Restart when it exits with an error; a clean exit (stop) stays stopped.
    '  <key>KeepAlive</key>',
    '  <dict>',
    '    <key>SuccessfulExit</key><false/>',
    '  </dict>',
    '  <key>ThrottleInterval</key><integer>10</integer>',
    '  <key>ExitTimeOut</key><integer>30</integer>',
    `  <key>StandardOutPath</key>${str(log)}`,
    `  <key>StandardErrorPath</key>${str(log)}`,
    '</dict>',
    '</plist>',
    '',
  ].join('\n');
}

/** The service manager commands for install / uninstall / status, as argv arrays. */
/** The first install command may fail (nothing loaded yet); the others must succeed. */
export function managerCommands(platform: ServicePlan['platform'], scope: ServicePlan['scope'], file: string, uid: number, home: string) {
  if (platform === 'darwin') {
    const domain = scope === 'user' ? `gui/${uid}` : 'system';
    return {
      install: [
        ['launchctl', 'bootout', `${domain}/${LAUNCHD_LABEL}`],
        ['launchctl', 'bootstrap', domain, file],
      ],
      uninstall: [['launchctl', 'bootout', `${domain}/${LAUNCHD_LABEL}`]],
      status: ['launchctl', 'print', `${domain}/${LAUNCHD_LABEL}`],
      logs: `tail -f ${path.join(home, 'Library', 'Logs', 'porten.log')}`,
    };
  }
  const ctl = scope === 'user' ? ['systemctl', '--user'] : ['systemctl'];
  return {
    install: [
      [...ctl, 'daemon-reload'],
      [...ctl, 'enable', '--now', `${SERVICE_NAME}.service`],
    ],
    uninstall: [
      [...ctl, 'disable', '--now', `${SERVICE_NAME}.service`],
      [...ctl, 'daemon-reload'],
    ],
    status: [...ctl, 'is-active', `${SERVICE_NAME}.service`],
    logs: `journalctl ${scope === 'user' ? '--user ' : ''}-u ${SERVICE_NAME} -f`,
  };
}
