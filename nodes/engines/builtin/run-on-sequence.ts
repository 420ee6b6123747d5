import type { LlamaContextSequence } from 'node-llama-cpp';
import type { Engine } from './engine';
import { finishReasonOf, usageOf, type FinishReason, type Usage } from './sampling';

export interface GenerationResult {
  text: string;
  finishReason: FinishReason;
  usage: Usage;
  /** The client left (or the server is stopping): text is whatever was generated until then. */
  aborted: boolean;
}

/**
 * Runs one generation on a sequence from the pool, waiting in FIFO order when all are busy.
 * Guarantees: the sequence goes back to the pool however `generate` ends; an abort
 * (while queued or while generating) yields `aborted: true` instead of an exception;
 * completion tokens are what the sequence actually sampled (its token meter).
 */
export async function runOnSequence(
  engine: Engine,
  promptTokens: number,
  signal: AbortSignal,
  generate: (sequence: LlamaContextSequence) => Promise<{ text: string; stopReason: string }>,
): Promise<GenerationResult> {
  const abortedResult = (text: string, completionTokens: number): GenerationResult => ({
    text,
    finishReason: 'stop',
    usage: usageOf(promptTokens, completionTokens),
    aborted: true,
  });
  let sequence: LlamaContextSequence;
  try {
    sequence = await engine.pool.acquire(signal);
  } catch {
    return abortedResult('', 0);
  }
  const before = sequence.tokenMeter.usedOutputTokens;
  try {
    const r = await generate(sequence);
    const completionTokens = sequence.tokenMeter.usedOutputTokens - before;
    if (signal.aborted) return abortedResult(r.text, completionTokens);
    return { text: r.text, finishReason: finishReasonOf(r.stopReason), usage: usageOf(promptTokens, completionTokens), aborted: false };
  } catch (err) {
    if (signal.aborted) return abortedResult('', sequence.tokenMeter.usedOutputTokens - before);
    throw err;
  } finally {
    engine.pool.release(sequence);
  }
}
