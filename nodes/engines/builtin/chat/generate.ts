import { type LlamaContextSequence, type LlamaGrammar, LlamaGrammarEvaluationState, type LlamaModel, type Token, type TokenBias } from 'node-llama-cpp';
import { TokenDecoder } from './decoder';
import { heldSuffix, OutputReader, type OutputSpec, type ParsedOutput } from './output-parser';

/**
 * When a grammar takes over generation. Free text stays free: `auto` tool
 * calls constrain only what follows the family's call marker, forced output
 * after a reasoning block only what follows its end tag.
 */
export interface GrammarPlan {
  /** From the first generated token (forced calls or JSON with no reasoning block first). */
  initial?: LlamaGrammar;
  /** Once the reasoning block closes. */
  afterReasoning?: LlamaGrammar;
  /** Once a call marker appears in free text, by marker. */
  onMarker?: ReadonlyMap<string, LlamaGrammar>;
}

export interface ChatSampling {
  temperature: number;
  topP: number;
  seed?: number;
  tokenBias?: TokenBias;
  /** OpenAI presence/frequency penalties over the last 64 tokens; undefined when both are 0. */
  penalties?: { presencePenalty: number; frequencyPenalty: number };
}

export interface ChatGeneration {
  prompt: Token[];
  maxTokens: number;
  sampling: ChatSampling;
  stop: readonly string[];
  spec: OutputSpec;
  grammars: GrammarPlan;
  /** Special tokens whose text the answer keeps (markers, reasoning tags). */
  keep: ReadonlySet<string>;
}

export interface ChatRun {
  text: string;
  stopReason: 'eog' | 'maxTokens' | 'stop' | 'abort';
  reasoningTokens: number;
}

/** The visible answer so far: `text` minus `held` trailing characters that may still become a stop sequence. */
export type OnChatText = (text: string, held: number) => void;

const PENALTY_WINDOW = 64;

/** Where the grammar should take over in `parsed` (an index into the text), if it should now. */
function takeover(parsed: ParsedOutput, grammars: GrammarPlan): { at: number; grammar: LlamaGrammar } | undefined {
  if (grammars.afterReasoning && parsed.reasoningEnd !== undefined) return { at: parsed.reasoningEnd, grammar: grammars.afterReasoning };
  if (grammars.onMarker && parsed.marker && parsed.callsAt !== undefined) {
    const grammar = grammars.onMarker.get(parsed.marker);
    if (grammar) return { at: parsed.callsAt + parsed.marker.length, grammar };
  }
  return undefined;
}

/**
 * Generates one chat answer on `sequence` with node-llama-cpp's low-level
 * `evaluate`, switching grammar state on the same sequence when the plan says
 * so. When a marker ends inside a token, that token is replaced by the tokens
 * of the text up to the marker's end, so the grammar sees exactly what follows
 * it. Reuses the sequence's cached prefix of the prompt. Never throws on abort:
 * returns what was generated with `stopReason: 'abort'`.
 */
export async function generateChat(
  model: LlamaModel,
  sequence: LlamaContextSequence,
  g: ChatGeneration,
  signal: AbortSignal,
  onText?: OnChatText,
): Promise<ChatRun> {
  await sequence.adaptStateToTokens(g.prompt, false);
  let start = Math.min(sequence.nextTokenIndex, g.prompt.length - 1);
  if (sequence.nextTokenIndex > start) await sequence.eraseContextTokenRanges([{ start, end: sequence.nextTokenIndex }]);
  start = sequence.nextTokenIndex;

  const decoder = new TokenDecoder(model, g.keep);
  const reader = new OutputReader(g.spec);
  const recent: Token[] = [];
  let grammar = g.grammars.initial ? new LlamaGrammarEvaluationState({ model, grammar: g.grammars.initial }) : undefined;
  let switched = grammar !== undefined;
  let input: Token[] = g.prompt.slice(start);
  let text = '';
  let generated = 0;
  let reasoningTokens = 0;
  let stopReason: ChatRun['stopReason'] = 'eog';
  const longestStop = g.stop.reduce((n, s) => Math.max(n, s.length), 0);

  run: for (;;) {
    let restart: Token[] | undefined;
    const tokens = sequence.evaluate(input, {
      temperature: g.sampling.temperature,
      topP: g.sampling.topP,
      seed: g.sampling.seed,
      tokenBias: g.sampling.tokenBias,
      grammarEvaluationState: () => grammar,
      repeatPenalty: g.sampling.penalties ? { punishTokens: () => recent.slice(-PENALTY_WINDOW), penalty: 1, ...g.sampling.penalties } : undefined,
    });
    for await (const token of tokens) {
      if (signal.aborted) {
        stopReason = 'abort';
        break run;
      }
      generated++;
      recent.push(token);
      const before = text.length;
      text += decoder.push(token);
      if (longestStop > 0) {
        const from = Math.max(0, before - longestStop);
        const hits = g.stop.map((s) => text.indexOf(s, from)).filter((i) => i >= 0);
        if (hits.length > 0) {
          text = text.slice(0, Math.min(...hits));
          stopReason = 'stop';
          break run;
        }
      }
      const parsed = reader.read(text);
      if (parsed.phase === 'reasoning') reasoningTokens++;
      const take = switched ? undefined : takeover(parsed, g.grammars);
      if (take) {
        switched = true;
        grammar = new LlamaGrammarEvaluationState({ model, grammar: take.grammar });
        if (take.at > before && take.at < text.length) {
          // The marker ended inside this token: feed the text up to it instead, so the grammar starts right after.
          restart = model.tokenize(text.slice(before, take.at), true);
          text = text.slice(0, take.at);
          decoder.reset(restart);
        } else restart = [token];
      }
      onText?.(text, heldSuffix(text, g.stop));
      if (generated >= g.maxTokens) {
        stopReason = 'maxTokens';
        break run;
      }
      if (restart) break;
    }
    if (!restart) break;
    input = restart;
  }
  if (signal.aborted) stopReason = 'abort';
  return { text, stopReason, reasoningTokens };
}
