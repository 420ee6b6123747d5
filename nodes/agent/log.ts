import { localText } from './sanitize';

/**
 * JSON-lines logs to stderr: one object per event, `{"t":…,"level":…,"scope":…,"msg":…, …fields}`,
 * so supervisors and log shippers parse them without a grammar. stdout stays
 * free for anything a caller may want to pipe. Fields never overwrite the
 * envelope keys. The message and every string field pass through `redactText`
 * (download/redact.ts): an engine's error or an upstream's URL may carry
 * userinfo, a signed query string or a token, and logs get shipped elsewhere.
 */
export type LogFields = Record<string, string | number | boolean | undefined | null>;

export interface Logger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(scope: string): Logger;
}

/**
 * One log line (with its newline) for an event. Pure, for tests. The message and
 * every string field pass through `localText`: full detail for the node's owner,
 * never a secret (see sanitize.ts).
 */
export function logLine(level: string, scope: string, msg: string, fields?: LogFields, now = new Date()): string {
  const out: Record<string, unknown> = { t: now.toISOString(), level, scope, msg: localText(msg) };
  if (fields) for (const [k, v] of Object.entries(fields)) if (v !== undefined && !(k in out)) out[k] = typeof v === 'string' ? localText(v) : v;
  return `${JSON.stringify(out)}\n`;
}

export function createLogger(scope = 'agent', write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const emit = (level: string, msg: string, fields?: LogFields) => write(logLine(level, scope, msg, fields));
  return {
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (s) => createLogger(`${scope}.${s}`, write),
  };
}
