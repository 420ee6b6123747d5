import type { ChildProcess } from 'node:child_process';

/**
 * Every engine process this agent started and that has not exited yet. Kept at
 * module level so that any exit path of the agent — normal exit, uncaught error,
 * signal — can kill them synchronously; the parent-watch preload covers SIGKILL.
 */
const live = new Set<ChildProcess>();
let hooked = false;

/** Sends `signal` to the child's whole process group (engines may fork helpers), falling back to the child alone. */
export function signalTree(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

export function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!hooked) {
    hooked = true;
    process.once('exit', killAllEngines);
  }
}

/** SIGKILLs every live engine. Synchronous so it is safe inside `process.on('exit')`. */
export function killAllEngines(): void {
  for (const child of live) signalTree(child, 'SIGKILL');
}

export function liveEngineCount(): number {
  return live.size;
}
