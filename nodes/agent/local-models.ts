import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { readPartialState } from '../download/partial-state';
import { doneBytes } from '../download/plan';
import { partName, splitOf } from '../download/split';
import { cachedVerdict } from '../download/verified-cache';
import { table } from './status';

/** How far a model on disk can be trusted, from the downloader's sidecars. */
export type Verification = 'sha256' | 'size' | 'unverified' | 'downloading' | 'incomplete';

export interface LocalModel {
  /** Model id as the node reports it in its inventory (file name without `.gguf`, or the split prefix). */
  model: string;
  bytes: number;
  verification: Verification;
  /** sha256 of a single verified file (a split model has one per part, so none here). */
  sha256?: string;
  files: string[];
  /** For `downloading`: bytes on disk of the total. */
  doneBytes?: number;
  totalBytes?: number;
}

interface FileInfo {
  name: string;
  bytes: number;
  verdict: { sha256: string | null } | null;
}

/**
 * Everything under the models dir: finished files with their verification state (a sidecar that no
 * longer matches the file's size and mtime counts as unverified), split GGUFs grouped into one model
 * (`incomplete` while a part is missing), and downloads in progress from their `.partial.json`.
 * A missing directory is an empty list. Never throws on a file removed while scanning.
 */
export async function scanModels(dir: string): Promise<LocalModel[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const files: FileInfo[] = [];
  const out: LocalModel[] = [];
  for (const name of names.sort()) {
    const full = path.join(dir, name);
    if (name.endsWith('.gguf.partial')) {
      const dest = full.slice(0, -'.partial'.length);
      const st = await readPartialState(dest);
      const file = name.slice(0, -'.partial'.length);
      const part = splitOf(file);
      out.push({
        model: part ? `${part.prefix} (part ${part.index} of ${part.count})` : file.slice(0, -5),
        bytes: st?.total ?? 0,
        verification: 'downloading',
        files: [name],
        doneBytes: st ? doneBytes(st.segments) : undefined,
        totalBytes: st?.total,
      });
      continue;
    }
    if (!name.endsWith('.gguf')) continue;
    try {
      const s = await stat(full);
      if (!s.isFile()) continue;
      files.push({ name, bytes: s.size, verdict: await cachedVerdict(full, s.size, s.mtimeMs) });
    } catch {
      // removed while scanning
    }
  }
  const byName = new Map(files.map((f) => [f.name, f]));
  for (const f of files) {
    const split = splitOf(f.name);
    if (!split) {
      out.push({ model: f.name.slice(0, -5), bytes: f.bytes, files: [f.name], ...judge([f]), sha256: f.verdict?.sha256 ?? undefined });
      continue;
    }
    if (split.index !== 1) continue; // listed with its first part
    const parts = Array.from({ length: split.count }, (_, i) => byName.get(partName(split.prefix, i + 1, split.count)));
    const present = parts.filter((p): p is FileInfo => p !== undefined);
    out.push({
      model: split.prefix,
      bytes: present.reduce((n, p) => n + p.bytes, 0),
      files: present.map((p) => p.name),
      ...(present.length < split.count ? { verification: 'incomplete' as const } : judge(present)),
    });
  }
  return out.sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
}

function judge(parts: FileInfo[]): { verification: Verification } {
  if (parts.some((p) => p.verdict === null)) return { verification: 'unverified' };
  return { verification: parts.every((p) => p.verdict?.sha256) ? 'sha256' : 'size' };
}

const LABEL: Record<Verification, string> = {
  sha256: 'verified (sha256)',
  size: 'verified (size only)',
  unverified: 'not verified',
  downloading: 'downloading',
  incomplete: 'incomplete split',
};

function size(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** What `porten models` prints. Pure. */
export function renderModels(dir: string, models: LocalModel[]): string {
  if (models.length === 0) return `no models in ${dir}\n`;
  const rows = [['MODEL', 'SIZE', 'STATE', 'FILES']].concat(
    models.map((m) => {
      const state =
        m.verification === 'downloading' && m.totalBytes
          ? `downloading ${Math.floor(((m.doneBytes ?? 0) / m.totalBytes) * 100)}%`
          : m.verification === 'incomplete'
            ? `${LABEL.incomplete} (${m.files.length} of ${splitOf(m.files[0] ?? '')?.count ?? '?'} parts)`
            : LABEL[m.verification];
      return [m.model, size(m.bytes), state, m.files.length > 1 ? `${m.files[0]} +${m.files.length - 1}` : (m.files[0] ?? '')];
    }),
  );
  return `${table(rows).join('\n')}\n\n${dir}\n`;
}

/** `porten models`: the local inventory. Always 0 (an empty or missing directory is an empty list). */
export async function modelsCommand(o: { modelsDir: string; json: boolean }, out: (text: string) => void): Promise<number> {
  const models = await scanModels(o.modelsDir);
  out(o.json ? `${JSON.stringify({ models_dir: o.modelsDir, models })}\n` : renderModels(o.modelsDir, models));
  return 0;
}
