import { join } from 'node:path';
import { type ChatResult, prepareChat, runChat } from '../../../nodes/engines/builtin/chat-generate';
import { chatShape } from '../../../nodes/engines/builtin/chat-output';
import { type Engine, loadEngine } from '../../../nodes/engines/builtin/engine';
import { ChatCompletionRequestSchema } from '../../../nodes/engines/builtin/openai-schema';
import { newMeta } from '../../../nodes/engines/builtin/responses';
import { defaultDemoModelsDir, ensureDemoModels } from '../../../scripts/make-demo-models';

/** A real builtin engine on a demo model, in this process (one sequence, the catalog's 32k context). */
export async function demoEngine(id: string, ctx = 32768): Promise<Engine> {
  const dir = defaultDemoModelsDir();
  await ensureDemoModels(dir);
  return loadEngine({ model: join(dir, `${id}.gguf`), host: '127.0.0.1', port: 0, ctx, threads: 1, parallel: 1, name: id, gpu: 'false' });
}

export interface ChatOutcome {
  result: ChatResult;
  promptTokens: number;
  /** The chunks a streaming client would have received, in order. */
  events: Array<{ choices: Array<{ delta: Record<string, unknown>; finish_reason: string | null }> }>;
  /** The non-streamed response for the same generation. */
  whole: { choices: Array<{ message: Record<string, unknown>; finish_reason: string }>; usage: Record<string, unknown> };
}

/** Runs one chat request body through the engine's own preparation, generation and output shaping. */
export async function chat(engine: Engine, body: Record<string, unknown>): Promise<ChatOutcome> {
  const prepared = await prepareChat(engine, ChatCompletionRequestSchema.parse(body));
  const shape = chatShape(newMeta('chatcmpl', engine.name), prepared.spec, prepared);
  const events: unknown[] = [shape.opening!()];
  const result = await runChat(engine, prepared, new AbortController().signal, (text, held) => events.push(...shape.update(text, held)));
  events.push(...shape.closing(result));
  return { result, promptTokens: prepared.promptTokens, events: events as ChatOutcome['events'], whole: shape.whole(result) as ChatOutcome['whole'] };
}

/** The message the openai SDK's stream helpers assemble from `events`. */
export function assembled(events: ChatOutcome['events']) {
  let content = '';
  let reasoning = '';
  const calls: Array<{ id: string; type: string; function: { name: string; arguments: string } }> = [];
  for (const e of events) {
    const d = e.choices[0]?.delta ?? {};
    if (typeof d.content === 'string') content += d.content;
    if (typeof d.reasoning_content === 'string') reasoning += d.reasoning_content;
    for (const t of (d.tool_calls ?? []) as Array<{ index: number; id?: string; function: { name?: string; arguments: string } }>) {
      if (t.id) calls[t.index] = { id: t.id, type: 'function', function: { name: t.function.name ?? '', arguments: '' } };
      calls[t.index].function.arguments += t.function.arguments;
    }
  }
  return { content, reasoning, calls };
}
