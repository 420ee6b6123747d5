/**
 * Single-line, prefixed logs to stderr. stdout stays free for anything a caller
 * may want to pipe; one line per event keeps logs greppable under supervisors.
 */
export type LogFields = Record<string, string | number | boolean | undefined | null>;

function render(fields?: LogFields): string {
  if (!fields) return '';
  let out = '';
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    const s = String(v).replace(/\s+/g, ' ');
    out += ` ${k}=${/[\s"=]/.test(s) || s === '' ? JSON.stringify(s) : s}`;
  }
  return out;
}

export interface Logger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(scope: string): Logger;
}

export function createLogger(scope = 'agent', write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const emit = (level: string, msg: string, fields?: LogFields) =>
    write(`porten[${scope}] ${level} ${msg.replace(/\s*\n\s*/g, ' ')}${render(fields)}\n`);
  return {
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (s) => createLogger(`${scope}.${s}`, write),
  };
}
