import * as z from 'zod';

/**
 * Command line of the builtin engine:
 *   server.ts --model PATH --port N [--host 127.0.0.1] [--ctx 512] [--threads 1] [--parallel 4] [--name ID] [--gpu auto|false]
 * Threads default to 1: on small CPU machines more threads contend with the agent and
 * with each other (measured ~80x slower with 2 threads on 2 cores).
 */
export const EngineArgsSchema = z.object({
  model: z.string().min(1),
  host: z.string().min(1).default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535),
  ctx: z.coerce
    .number()
    .int()
    .min(16)
    .max(1 << 20)
    .default(512),
  threads: z.coerce.number().int().min(0).max(1024).default(1),
  parallel: z.coerce.number().int().min(1).max(256).default(4),
  name: z.string().min(1).max(128).optional(),
  /** 'auto' lets node-llama-cpp pick CUDA/Vulkan/Metal when a prebuilt binary fits; it never builds from source. */
  gpu: z.enum(['auto', 'false']).default('auto'),
});
export type EngineArgs = z.infer<typeof EngineArgsSchema>;

export type ParseArgsResult = { ok: true; args: EngineArgs & { name: string } } | { ok: false; error: string };

const KNOWN = new Set(Object.keys(EngineArgsSchema.shape));

/**
 * Parses `--key value` / `--key=value` pairs. Pure: never exits or prints.
 * Unknown flags and missing values are errors (a typo should not silently fall back to a default).
 * `name` defaults to the model file's base name without `.gguf`.
 */
export function parseEngineArgs(argv: readonly string[]): ParseArgsResult {
  const raw: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) return { ok: false, error: `unexpected argument "${arg}"` };
    const eq = arg.indexOf('=');
    const key = arg.slice(2, eq === -1 ? undefined : eq);
    if (!KNOWN.has(key)) return { ok: false, error: `unknown option --${key}` };
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) return { ok: false, error: `--${key} needs a value` };
      value = next;
      i++;
    }
    raw[key] = value;
  }
  const parsed = EngineArgsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, error: `--${issue.path.join('.') || '?'}: ${issue.message}` };
  }
  const name = parsed.data.name ?? (parsed.data.model.split(/[\\/]/).pop() ?? 'model').replace(/\.gguf$/i, '');
  return { ok: true, args: { ...parsed.data, name } };
}
