import * as z from 'zod';

/**
 * Faults the demo origin can inject into GET bodies, so the downloader's recovery paths are
 * tested over real sockets. `times` limits how many responses are affected (default: all);
 * `file` limits the fault to one path (default: every file).
 */
const base = { times: z.number().int().positive().optional(), file: z.string().optional() };
export const FaultSchema = z.discriminatedUnion('kind', [
  /** destroy the socket after `afterBytes` body bytes */
  z.object({ kind: z.literal('reset-mid-body'), afterBytes: z.number().int().nonnegative(), ...base }),
  /** answer 200 with the whole file even when a Range was asked for */
  z.object({ kind: z.literal('ignore-range'), ...base }),
  /** declare `extra` more bytes than are sent (HEAD and GET Content-Length), then close */
  z.object({ kind: z.literal('wrong-length'), extra: z.number().int().positive().default(1024), ...base }),
  /** no Content-Length (chunked); end the body cleanly after `afterBytes` */
  z.object({ kind: z.literal('truncate'), afterBytes: z.number().int().nonnegative(), ...base }),
  /** flip the byte at absolute file offset `offset` in every response covering it */
  z.object({ kind: z.literal('flip-byte'), offset: z.number().int().nonnegative(), ...base }),
  /** after `afterBytes` body bytes, send nothing for `ms` */
  z.object({ kind: z.literal('stall'), afterBytes: z.number().int().nonnegative(), ms: z.number().int().positive(), ...base }),
]);
export type Fault = z.infer<typeof FaultSchema>;
export type FaultInput = z.input<typeof FaultSchema>;

/** Holds the current fault and hands it out per response, counting `times` down. */
export class FaultSlot {
  private fault: Fault | null = null;
  private left = Infinity;

  set(input: FaultInput | null): void {
    this.fault = input === null ? null : FaultSchema.parse(input);
    this.left = this.fault?.times ?? Infinity;
  }

  /** The current fault without consuming it (HEAD answers lie under `wrong-length` too). */
  peek(file: string): Fault | null {
    const f = this.fault;
    return f && this.left > 0 && (f.file === undefined || f.file === file) ? f : null;
  }

  /** The fault for this GET of `file`, consuming one of its `times`; null when none applies. */
  take(file: string): Fault | null {
    const f = this.fault;
    if (!f || this.left <= 0) return null;
    if (f.file !== undefined && f.file !== file) return null;
    this.left -= 1;
    return f;
  }
}

/** Body bytes to send before the fault cuts, pauses or ends the response (Infinity: none). */
export function cutAt(f: Fault | null): number {
  if (!f) return Infinity;
  if (f.kind === 'reset-mid-body' || f.kind === 'truncate' || f.kind === 'stall') return f.afterBytes;
  return Infinity;
}

/** Applies `flip-byte` to a chunk that starts at absolute file offset `at`. */
export function corrupt(f: Fault | null, chunk: Buffer, at: number): void {
  if (f?.kind !== 'flip-byte') return;
  const i = f.offset - at;
  if (i >= 0 && i < chunk.length) chunk[i] ^= 0xff;
}
