/**
 * The close code to send back when a peer closes, or null when none may be
 * sent: 1005 (no status), 1006 (abnormal) and 1015 (TLS) are reserved to
 * describe a close locally and are invalid on the wire.
 */
export function closeCodeToEcho(code: number): number | null {
  if (code === 1005 || code === 1006 || code === 1015) return null;
  if (code < 1000 || code > 4999) return null;
  return code;
}

/** A short, loggable description of whatever a socket error handler received. */
export function describeSocketError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === 'string') return error;
  return 'unknown error';
}
