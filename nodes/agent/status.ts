import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod';
import { ModelPhaseSchema, NodeErrorCodeSchema, NodeHardwareSchema } from '../../src/protocol';

/**
 * The local status channel: `porten run` rewrites a JSON file every second (default
 * ~/.porten/status.json, mode 0600) and `porten status` reads it. A file rather than a socket: it
 * needs no listener in the agent, works the same under systemd, launchd or a terminal, and tells a
 * dead agent from a live one by its pid and age. It holds no secret (no node key, no token, no
 * signed URL).
 */
export const StatusSchema = z.object({
  v: z.literal(1),
  pid: z.number().int().positive(),
  version: z.string(),
  started_at: z.number(),
  updated_at: z.number(),
  node_id: z.string(),
  edge: z.string(),
  link: z.object({ state: z.enum(['connecting', 'connected', 'disconnected', 'closed']), since: z.number(), detail: z.string().optional() }),
  budget: z.object({ mb: z.number(), source: z.string(), detail: z.string() }),
  used_mb: z.number(),
  hardware: NodeHardwareSchema,
  inflight: z.number().int().nonnegative(),
  models: z.array(
    z.object({
      model: z.string(),
      phase: ModelPhaseSchema,
      vram_mb: z.number().optional(),
      done_bytes: z.number().optional(),
      total_bytes: z.number().optional(),
      bytes_per_sec: z.number().optional(),
      error: z.object({ code: NodeErrorCodeSchema, message: z.string() }).optional(),
    }),
  ),
});
export type Status = z.infer<typeof StatusSchema>;
export type ModelStatus = Status['models'][number];

/** A status older than this, or from a pid that is gone, means no agent is running. */
export const STALE_MS = 5000;
const EVERY_MS = 1000;

/** Rewrites the status file every second (atomically: write then rename) until stopped; never throws. */
export class StatusWriter {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly snapshot: () => Status,
    private readonly onError: (message: string) => void = () => {},
  ) {}

  start(): void {
    void this.write();
    this.timer = setInterval(() => void this.write(), EVERY_MS);
    this.timer.unref();
  }

  /** Stops and removes the file: `porten status` then says no agent is running. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.writing;
    await rm(this.file, { force: true }).catch(() => undefined);
  }

  private write(): Promise<void> {
    this.writing = this.writing.then(async () => {
      const tmp = `${this.file}.${process.pid}.tmp`;
      try {
        await mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
        await writeFile(tmp, `${JSON.stringify(this.snapshot())}\n`, { mode: 0o600 });
        await chmod(tmp, 0o600);
        await rename(tmp, this.file);
      } catch (err) {
        this.onError((err as Error).message);
      }
    });
    return this.writing;
  }
}

export type StatusRead = { ok: true; status: Status; live: boolean } | { ok: false; missing: boolean; error: string };

/** Reads and judges the status file. `isAlive(pid)` is injected (process.kill(pid, 0) in the CLI). */
export async function readStatus(file: string, now: number, isAlive: (pid: number) => boolean): Promise<StatusRead> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    return { ok: false, missing, error: missing ? `no agent is running (no status file at ${file})` : `cannot read ${file}: ${(err as Error).message}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, missing: false, error: `${file} is not valid JSON` };
  }
  const parsed = StatusSchema.safeParse(json);
  if (!parsed.success) return { ok: false, missing: false, error: `${file} is not a porten status file` };
  const status = parsed.data;
  return { ok: true, status, live: now - status.updated_at < STALE_MS && isAlive(status.pid) };
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

function progress(m: ModelStatus): string {
  if (m.phase === 'failed' && m.error) return `${m.error.code}: ${m.error.message}`;
  if (m.phase !== 'downloading' || !m.total_bytes) return '';
  const pct = Math.min(100, Math.floor(((m.done_bytes ?? 0) / m.total_bytes) * 100));
  const rate = m.bytes_per_sec ? ` ${mib(m.bytes_per_sec)} MiB/s` : '';
  return `${pct}% ${mib(m.done_bytes ?? 0)}/${mib(m.total_bytes)} MiB${rate}`;
}

/** Aligns rows into columns separated by two spaces. */
export function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd(),
  );
}

/** What `porten status` prints. Pure. */
export function renderStatus(s: Status, live: boolean, now: number): string {
  const hw = s.hardware;
  const gpus = hw.gpus.length ? hw.gpus.map((g) => `${g.name}${g.vram_mb !== undefined ? ` (${g.vram_mb} MiB)` : ''}`).join(', ') : 'no GPU';
  const lines = [
    live
      ? `porten ${s.version} · node ${s.node_id} · pid ${s.pid} · up ${ago(now - s.started_at)}`
      : `porten is not running (last status from pid ${s.pid}, ${ago(now - s.updated_at)} ago)`,
    `edge      ${s.edge} (${s.link.state} for ${ago(now - s.link.since)}${s.link.detail ? `: ${s.link.detail}` : ''})`,
    `memory    budget ${s.budget.mb} MiB, used ${s.used_mb} MiB (${s.budget.source}: ${s.budget.detail})`,
    `hardware  ${hw.backend ?? 'backend unknown'}; ${gpus}${hw.driver ? `; driver ${hw.driver}` : ''}; ${hw.threads ?? '?'} engine threads`,
    `requests  ${s.inflight} in flight`,
  ];
  if (s.models.length === 0) lines.push('models    none loaded');
  else {
    lines.push('models');
    const rows = [['MODEL', 'PHASE', 'MEMORY', 'PROGRESS']].concat(
      s.models.map((m) => [m.model, m.phase, m.vram_mb !== undefined ? `${Math.round(m.vram_mb)} MiB` : '', progress(m)]),
    );
    for (const l of table(rows)) lines.push(`  ${l}`);
  }
  return `${lines.join('\n')}\n`;
}
