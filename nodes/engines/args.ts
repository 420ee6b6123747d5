import { createHash } from 'node:crypto';

/** Everything the builtin engine's command line depends on; no process or file-system access here. */
export interface BuiltinArgsInput {
  execPath: string;
  /** Node flags before the script: none for the compiled engine; `--import <tsx>` when run from source (tests). */
  execArgv: string[];
  /** Preload that ends the engine when the agent dies without a chance to kill it (SIGKILL). */
  parentWatchImport?: string;
  serverPath: string;
  modelPath: string;
  port: number;
  contextLength: number;
  threads: number;
  parallel: number;
  name: string;
}

export interface EngineCommand {
  cmd: string;
  args: string[];
}

/** Builds the builtin engine's argv. Pure; table-tested. */
export function builtinCommand(i: BuiltinArgsInput): EngineCommand {
  const imports = [...i.execArgv];
  if (i.parentWatchImport) imports.push('--import', i.parentWatchImport);
  return {
    cmd: i.execPath,
    args: [
      ...imports,
      i.serverPath,
      '--model',
      i.modelPath,
      '--host',
      '127.0.0.1',
      '--port',
      String(i.port),
      '--ctx',
      String(i.contextLength),
      '--threads',
      String(Math.max(1, i.threads)),
      '--parallel',
      String(Math.max(1, i.parallel)),
      '--name',
      i.name,
    ],
  };
}

/**
 * Normalises an OpenAI-compatible upstream to the base that `/v1/...` paths hang
 * off: people paste both `http://host:8000` and `http://host:8000/v1/`.
 */
export function upstreamBase(url: string): string {
  return url.trim().replace(/\/+$/, '').replace(/\/v1$/, '');
}

/** Ids that are their own file name: lowercase, no separators a file system or a second id could fold together. */
const PLAIN_ID = /^[a-z0-9][a-z0-9._-]{0,119}$/;

/**
 * Model file name under the models dir, injective over model ids: distinct
 * ids never share a weights file, also on case-insensitive file systems. A
 * plain id (lowercase letters, digits, `.`, `_`, `-`) is its own name
 * (`demo-small.gguf`, as before); any other id (`Org/Model`, `org:model`)
 * becomes a readable slug plus `~` and 16 hex digits of the id's SHA-256
 * (`org_model~3f…e1.gguf`). `~` never occurs in a plain id, so the two forms
 * cannot collide.
 */
export function modelFileName(model: string): string {
  if (PLAIN_ID.test(model)) return `${model}.gguf`;
  const slug =
    model
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '_')
      .replace(/^[._-]+/, '')
      .slice(0, 80) || 'model';
  return `${slug}~${createHash('sha256').update(model).digest('hex').slice(0, 16)}.gguf`;
}

/** The name the agent used before ids were hashed (`org:model` and `org_model` shared it); for adopting old downloads. */
export function legacyModelFileName(model: string): string {
  return `${model.replace(/[^A-Za-z0-9._-]/g, '_')}.gguf`;
}
