import { randomBytes } from 'node:crypto';
import type { ParsedOutput } from './output-parser';

export interface ToolCallOut {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** An OpenAI tool-call delta: the first for a call carries id, type and name; later ones only argument text. */
export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function: { name?: string; arguments: string };
}

export interface ChatDelta {
  role?: 'assistant';
  content?: string;
  reasoning_content?: string;
  tool_calls?: ToolCallDelta[];
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Call ids in the form the model's template accepts back: 9 alphanumerics for Mistral's, else `call_` + 24 hex. */
export function newCallId(nineChars = false): string {
  if (!nineChars) return `call_${randomBytes(12).toString('hex')}`;
  return Array.from(randomBytes(9), (b) => ALNUM[b % ALNUM.length]).join('');
}

/**
 * Turns successive parses of a growing answer into OpenAI deltas: each call
 * is announced once its name is known (index, id, type, name and the argument
 * text so far), then its arguments stream in pieces. Since each parse extends
 * the last (parseOutput's contract), concatenated deltas equal the final message.
 */
export class DeltaTracker {
  private reasoning = 0;
  private content = 0;
  private readonly args: number[] = [];
  readonly ids: string[] = [];

  constructor(private readonly newId: () => string) {}

  next(p: ParsedOutput): ChatDelta[] {
    const out: ChatDelta[] = [];
    if (p.reasoning.length > this.reasoning) {
      out.push({ reasoning_content: p.reasoning.slice(this.reasoning) });
      this.reasoning = p.reasoning.length;
    }
    if (p.content.length > this.content) {
      out.push({ content: p.content.slice(this.content) });
      this.content = p.content.length;
    }
    const calls: ToolCallDelta[] = [];
    p.calls.forEach((c, index) => {
      if (index >= this.ids.length) {
        this.ids.push(this.newId());
        this.args.push(c.arguments.length);
        calls.push({ index, id: this.ids[index], type: 'function', function: { name: c.name, arguments: c.arguments } });
      } else if (c.arguments.length > this.args[index]) {
        calls.push({ index, function: { arguments: c.arguments.slice(this.args[index]) } });
        this.args[index] = c.arguments.length;
      }
    });
    if (calls.length > 0) out.push({ tool_calls: calls });
    return out;
  }

  /** The final message's calls with the ids already streamed (and new ones for calls never streamed). */
  calls(p: ParsedOutput): ToolCallOut[] {
    return p.calls.map((c, i) => {
      while (this.ids.length <= i) this.ids.push(this.newId());
      return { id: this.ids[i], type: 'function', function: { name: c.name ?? '', arguments: c.arguments } };
    });
  }
}
