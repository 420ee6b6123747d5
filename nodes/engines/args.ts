/** Everything the builtin engine's command line depends on; no process or file-system access here. */
export interface BuiltinArgsInput {
  execPath: string;
  /** URL or path of tsx's ESM loader, resolved by the caller so the child's cwd does not matter. */
  tsxImport: string;
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

export interface EngineCommand { cmd: string; args: string[] }

/** Builds the builtin engine's argv. Pure; table-tested. */
export function builtinCommand(i: BuiltinArgsInput): EngineCommand {
  const imports = ['--import', i.tsxImport];
  if (i.parentWatchImport) imports.push('--import', i.parentWatchImport);
  return {
    cmd: i.execPath,
    args: [
      ...imports,
      i.serverPath,
      '--model', i.modelPath,
      '--host', '127.0.0.1',
      '--port', String(i.port),
      '--ctx', String(i.contextLength),
      '--threads', String(Math.max(1, i.threads)),
      '--parallel', String(Math.max(1, i.parallel)),
      '--name', i.name,
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

/** Model file name under the models dir; ids with `/` or other odd characters stay one flat file. */
export function modelFileName(model: string): string {
  return `${model.replace(/[^A-Za-z0-9._-]/g, '_')}.gguf`;
}
