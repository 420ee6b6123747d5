import { COMMANDS, FLAGS, type Command, type Flag, type FlagSpec } from './flags';

/** `porten help`: every command, one line each. Pure. */
export function generalHelp(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => [name, c.summary]);
  const w = Math.max(...rows.map(([n]) => n.length));
  return [
    'porten — node agent for the porten inference hub',
    '',
    'Usage: porten <command> [flags]',
    '',
    'Commands:',
    ...rows.map(([n, s]) => `  ${n.padEnd(w)}  ${s}`),
    '',
    'Run `porten help <command>` or `porten <command> --help` for its flags.',
    '`porten --version` prints the version.',
    '',
  ].join('\n');
}

/** `porten help <command>`: usage, what it does, and its flags with their variables and defaults. Pure. */
export function commandHelp(command: Command): string {
  const c = COMMANDS[command];
  const flags: Flag[] = [...c.flags, 'help'];
  const left = (f: Flag) => {
    const spec: FlagSpec = FLAGS[f];
    return `${spec.short ? `-${spec.short}, ` : ''}--${f}${spec.value ? ` ${spec.value}` : ''}`;
  };
  const w = Math.max(...flags.map((f) => left(f).length));
  const lines = [`Usage: ${c.usage}`, '', `${c.summary[0].toUpperCase()}${c.summary.slice(1)}.`];
  for (const d of ('details' in c ? c.details : undefined) ?? []) lines.push('', wrap(d, 100));
  lines.push('', 'Flags:');
  for (const f of flags) {
    const spec: FlagSpec = FLAGS[f];
    const extra = [spec.env ? `env ${spec.env}` : '', spec.def ? `default: ${spec.def}` : ''].filter(Boolean).join('; ');
    lines.push(`  ${left(f).padEnd(w)}  ${spec.help}${extra ? ` (${extra})` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

function wrap(text: string, width: number): string {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out.join('\n');
}
