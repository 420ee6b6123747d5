import { readStatus, renderStatus } from './status';

/** `porten status`: 0 and the running agent's state; 1 when no agent is running (or its status is stale). */
export async function statusCommand(o: { statusFile: string; json: boolean }, out: (text: string) => void): Promise<number> {
  const now = Date.now();
  const r = await readStatus(o.statusFile, now, isAlive);
  if (!r.ok) {
    if (o.json) out(`${JSON.stringify({ running: false, error: r.error })}\n`);
    else out(`${r.error}\n`);
    return 1;
  }
  if (o.json) out(`${JSON.stringify({ running: r.live, ...r.status })}\n`);
  else out(renderStatus(r.status, r.live, now));
  return r.live ? 0 : 1;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user (a system service).
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
