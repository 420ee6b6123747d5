/**
 * `porten`'s exit codes, one meaning each, so a service manager can tell "restart me" from "restarting
 * cannot help" (the systemd unit's `RestartPreventExitStatus` lists `usage` and `refused`).
 */
export const EXIT = {
  /** Done, or stopped cleanly by a signal. */
  ok: 0,
  /** A runtime failure (an engine or worker that would not start, an uncaught error); a restart may help. */
  failure: 1,
  /** A bad command line or configuration: one line on stderr. */
  usage: 2,
  /**
   * The edge ended this node's connection for good: the node was revoked, its key or id was refused
   * (unknown key, HTTP 401/403), or the edge does not speak its protocol version. Only an operator
   * (a new `porten login`, an upgrade) changes that.
   */
  refused: 3,
} as const;
