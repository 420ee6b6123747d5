/**
 * The edge's logs: one JSON object per line (`{"t","level","msg",…fields}`),
 * so Workers Logs, `wrangler tail` and local runs all get parseable lines.
 * Fields carry ids (`id`, `request_id`, `node`, `model`), never secrets or
 * request content.
 */
export type LogLevel = 'info' | 'warn' | 'error';
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export function logLine(level: LogLevel, msg: string, fields: LogFields = {}, now = Date.now()): string {
  const out: Record<string, unknown> = { t: new Date(now).toISOString(), level, msg };
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && !(k in out)) out[k] = v;
  return JSON.stringify(out);
}

export function logEvent(level: LogLevel, msg: string, fields?: LogFields): void {
  const line = logLine(level, msg, fields);
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
}
