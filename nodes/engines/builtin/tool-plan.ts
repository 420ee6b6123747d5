import { randomBytes } from 'node:crypto';
import { LlamaGrammar, LlamaText, type Llama, type LlamaGrammar as Grammar } from 'node-llama-cpp';
import { ApiError } from './errors';
import type { ChatCompletionRequest, Tool } from './openai-schema';

/**
 * How a chat request's tools shape generation. Every mode constrains the output
 * by grammar, so what comes back always parses, even from random weights:
 * - `args`: one function is forced (named, or `required` with a single tool); the output IS its arguments object.
 * - `call`: `required` among several; the output is `{"name", "arguments"}` over a union of the tools.
 * - `auto`: either free text (which cannot start with `<`) or `<tool_call>` followed by a `call` object.
 * node-llama-cpp's own function calling was not used for `auto`: the function
 * documentation it injects does not fit a 512-token demo context.
 */
export type ToolPlan =
  | { kind: 'text' }
  | { kind: 'args'; name: string; grammar: Grammar; note: string }
  | { kind: 'call' | 'auto'; grammar: Grammar; note: string };

export const CALL_MARKER = '<tool_call>';

export interface ToolCallOut { id: string; type: 'function'; function: { name: string; arguments: string } }

async function schemaGrammar(llama: Llama, schema: unknown, param: string) {
  try {
    // Client input: node-llama-cpp validates the schema and throws on constructs it cannot express as a grammar.
    return await llama.createGrammarForJsonSchema(schema as never);
  } catch (err) {
    throw new ApiError('invalid_request', `${param}: unsupported JSON schema (${err instanceof Error ? err.message : String(err)})`, param);
  }
}

const paramsOf = (t: Tool) => t.function.parameters ?? { type: 'object', properties: {} };

export async function planTools(llama: Llama, req: ChatCompletionRequest): Promise<ToolPlan> {
  const tools = req.tools ?? [];
  if (tools.length === 0 || req.tool_choice === 'none') return { kind: 'text' };
  // Every schema is checked up front, so a bad one is a 400 before generation rather than a failure mid-stream.
  for (const [i, t] of tools.entries()) await schemaGrammar(llama, paramsOf(t), `tools[${i}].function.parameters`);
  const choice = req.tool_choice ?? 'auto';
  const forced = typeof choice === 'object' ? choice.function.name : choice === 'required' && tools.length === 1 ? tools[0].function.name : undefined;
  if (forced !== undefined) {
    const i = tools.findIndex((t) => t.function.name === forced);
    return { kind: 'args', name: forced, grammar: await schemaGrammar(llama, paramsOf(tools[i]), `tools[${i}].function.parameters`), note: `Reply with the JSON arguments for the tool ${forced}.` };
  }
  const union = { oneOf: tools.map((t) => ({ type: 'object', properties: { name: { const: t.function.name }, arguments: paramsOf(t) } })) };
  const names = tools.map((t) => t.function.name).join(', ');
  const call = await schemaGrammar(llama, union, 'tools');
  if (choice === 'required') return { kind: 'call', grammar: call, note: `Call one of these tools: ${names}. Reply with {"name": ..., "arguments": {...}}.` };
  // node-llama-cpp's JSON grammars end in newlines that act as the stop trigger; the union keeps that ending for calls.
  const gbnf = `root ::= "${CALL_MARKER}" call | text\ntext ::= [^<\\x00] [^\\x00]*\n${call.grammar.replace(/^root ::=/m, 'call ::=')}`;
  const grammar = new LlamaGrammar(llama, { grammar: gbnf, stopGenerationTriggers: [LlamaText('\n\n\n\n')], trimWhitespaceSuffix: true });
  return { kind: 'auto', grammar, note: `Tools: ${names}. To call one, reply ${CALL_MARKER}{"name": ..., "arguments": {...}}.` };
}

export const newCallId = () => `call_${randomBytes(12).toString('hex')}`;

/**
 * Splits generated text into content and tool calls as the plan defines them.
 * Text cut short (max_tokens) that no longer parses stays content, never a broken call.
 */
export function toolCallsFrom(plan: ToolPlan, text: string, id = newCallId()): { content: string | null; calls: ToolCallOut[] } {
  if (plan.kind === 'text') return { content: text, calls: [] };
  if (plan.kind === 'args') return { content: null, calls: [{ id, type: 'function', function: { name: plan.name, arguments: text.trim() } }] };
  if (plan.kind === 'auto' && !text.startsWith(CALL_MARKER)) return { content: text, calls: [] };
  try {
    const call = JSON.parse(text.slice(plan.kind === 'auto' ? CALL_MARKER.length : 0)) as { name: string; arguments: unknown };
    return { content: null, calls: [{ id, type: 'function', function: { name: call.name, arguments: JSON.stringify(call.arguments) } }] };
  } catch {
    return { content: text, calls: [] };
  }
}
