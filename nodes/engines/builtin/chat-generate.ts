import type { Token } from 'node-llama-cpp';
import { templateMessages, templateTools } from './chat/messages';
import type { OutputSpec } from './chat/output-parser';
import { renderPrompt } from './chat/prompt';
import { type ChatGeneration, type ChatRun, generateChat, type GrammarPlan, type OnChatText } from './chat/generate';
import type { Engine } from './engine';
import { ApiError } from './errors';
import { callGbnf, compile, jsonObjectGbnf, jsonSchemaGbnf, led, schemaGbnf } from './grammar/grammars';
import type { ChatCompletionRequest, Tool } from './openai-schema';
import { runOnSequence, type GenerationResult } from './run-on-sequence';
import { completionBudget, tokenBiasFor } from './sampling';

export interface PreparedChat extends ChatGeneration {
  promptTokens: number;
  /** Whether tool calls are read from the answer (tools given and tool_choice not `none`). */
  toolsActive: boolean;
  /** Call ids must be 9 alphanumerics (the template accepts only those back). */
  nineCharIds: boolean;
}

const paramsOf = (t: Tool) => t.function.parameters ?? { type: 'object', properties: {} };

/** The prompt tokens: BOS as a token when the model wants one (its text stripped from the render, as llama.cpp does). */
function tokenizePrompt(engine: Engine, text: string): Token[] {
  const { tokens } = engine.model;
  if (!tokens.shouldPrependBosToken || tokens.bos === null) return engine.model.tokenize(text, true);
  const bos = tokens.bosString ?? '';
  const body = bos && text.startsWith(bos) ? text.slice(bos.length) : text;
  return [tokens.bos, ...engine.model.tokenize(body, true)];
}

async function grammarsFor(engine: Engine, req: ChatCompletionRequest, spec: OutputSpec, toolsActive: boolean): Promise<GrammarPlan> {
  const { llama } = engine;
  const afterThinking = spec.reasoning?.open === true;
  const place = (gbnf: string): GrammarPlan => (afterThinking ? { afterReasoning: compile(llama, led(gbnf, true)) } : { initial: compile(llama, gbnf) });
  if (toolsActive && spec.syntax) {
    const tools = req.tools ?? [];
    // Every schema is checked up front, so a bad one is a 400 before generation rather than a failure mid-stream.
    const gbnfs = await Promise.all(tools.map((t, i) => schemaGbnf(llama, paramsOf(t), `tools[${i}].function.parameters`)));
    const all = tools.map((t, i) => ({ name: t.function.name, gbnf: gbnfs[i] }));
    const parallel = req.parallel_tool_calls !== false && engine.chatFormat.caps.parallelCalls;
    const choice = req.tool_choice ?? 'auto';
    if (choice === 'auto') {
      const markers = [...spec.syntax.markers, ...(spec.syntax.startMarkers ?? [])];
      return { onMarker: new Map(markers.map((m) => [m, compile(llama, callGbnf(spec.syntax!, all, { parallel, marker: m }))])) };
    }
    const named = typeof choice === 'object' ? all.filter((t) => t.name === choice.function.name) : all;
    return place(callGbnf(spec.syntax, named, { parallel, lead: afterThinking }));
  }
  const format = req.response_format;
  if (!format || format.type === 'text') return {};
  if (format.type === 'json_object' || !format.json_schema.schema) return place(await jsonObjectGbnf(llama));
  return place(await jsonSchemaGbnf(llama, format.json_schema.schema, 'response_format.json_schema.schema'));
}

/**
 * Everything that can reject a request, done before a sequence is taken or a
 * response byte is written: the prompt from the model's own template, tool
 * schemas, the token count against the context, grammars.
 */
export async function prepareChat(engine: Engine, req: ChatCompletionRequest, now = new Date()): Promise<PreparedChat> {
  const format = engine.chatFormat;
  const tools = req.tools ?? [];
  const toolsActive = tools.length > 0 && req.tool_choice !== 'none';
  if (toolsActive && !format.syntax) {
    throw new ApiError('invalid_request', `tools: model ${engine.name}'s chat template shows no tool-call syntax this engine can read`, 'tools');
  }
  const { messages, origins } = templateMessages(req.messages, format.caps);
  const shown = format.caps.describesTools || toolsActive ? templateTools(tools) : [];
  const prompt = renderPrompt(format, engine.name, {
    messages,
    origins,
    tools: shown,
    reasoningEffort: req.reasoning_effort ?? undefined,
    bosToken: engine.model.tokens.bosString ?? '',
    eosToken: engine.model.tokens.eosString ?? '',
    now,
  });
  const tokens = tokenizePrompt(engine, prompt.text);
  const maxTokens = completionBudget(engine, tokens.length, req.max_completion_tokens ?? req.max_tokens);
  const spec: OutputSpec = {
    reasoning: format.reasoning && { ...format.reasoning, open: prompt.opensReasoning },
    syntax: toolsActive ? format.syntax : undefined,
  };
  const stop = req.stop == null ? [] : (typeof req.stop === 'string' ? [req.stop] : req.stop).filter((s) => s.length > 0);
  const presence = req.presence_penalty ?? 0;
  const frequency = req.frequency_penalty ?? 0;
  return {
    prompt: tokens,
    promptTokens: tokens.length,
    maxTokens,
    stop,
    spec,
    toolsActive,
    nineCharIds: format.caps.nineCharIds,
    grammars: await grammarsFor(engine, req, spec, toolsActive),
    keep: engine.keepTokens,
    sampling: {
      temperature: req.temperature ?? 1, // OpenAI's default; node-llama-cpp's own default (0) would be greedy
      topP: req.top_p ?? 1,
      // llama.cpp takes a 32-bit seed; OpenAI allows any integer, so it is folded rather than passed to native code as is.
      seed: req.seed == null ? undefined : ((req.seed % 2 ** 32) + 2 ** 32) % 2 ** 32,
      tokenBias: tokenBiasFor(engine, req.logit_bias),
      penalties: presence === 0 && frequency === 0 ? undefined : { presencePenalty: presence, frequencyPenalty: frequency },
    },
  };
}

export interface ChatResult extends GenerationResult {
  reasoningTokens: number;
}

/** Generates one chat completion on a pooled sequence; `onText` sees the visible answer as it grows. */
export async function runChat(engine: Engine, p: PreparedChat, signal: AbortSignal, onText?: OnChatText): Promise<ChatResult> {
  let run: ChatRun | undefined;
  const result = await runOnSequence(engine, p.promptTokens, signal, async (sequence) => {
    run = await generateChat(engine.model, sequence, p, signal, onText);
    return { text: run.text, stopReason: run.stopReason };
  });
  return { ...result, reasoningTokens: run?.reasoningTokens ?? 0 };
}
