import { Environment, Interpreter, Template } from '@huggingface/jinja';

type ApplyFilter = (this: Interpreter, operand: { type: string }, filter: unknown, env: Environment) => unknown;
const baseApplyFilter = (Interpreter.prototype as unknown as { applyFilter: ApplyFilter }).applyFilter;
/** An empty runtime string (the library does not export its value classes). */
const EMPTY = new Interpreter(new Environment()).run(new Template('{{ "" }}').parsed).constructor as new (v: string) => unknown;

/**
 * Jinja2's default `Undefined` acts as an empty string under string filters
 * (`param.description | trim` for a parameter without one); @huggingface/jinja
 * throws instead. This interpreter retries such a filter on "" — the one
 * leniency real templates (Hermes 2 Pro's tool_use variant) rely on.
 */
class LenientInterpreter extends Interpreter {}
(LenientInterpreter.prototype as unknown as { applyFilter: ApplyFilter }).applyFilter = function (operand, filter, env) {
  try {
    return baseApplyFilter.call(this, operand, filter, env);
  } catch (err) {
    if (operand?.type !== 'UndefinedValue' || !/Cannot apply filter/.test(String((err as Error)?.message))) throw err;
    return baseApplyFilter.call(this, new EMPTY('') as { type: string }, filter, env);
  }
};

/** The template itself refused the conversation (`raise_exception(...)`): the request asks for something it cannot express. */
export class TemplateRaise extends Error {}

/** The template could not be parsed or rendered for another reason: a problem of the model, not of the request. */
export class TemplateFailure extends Error {}

/** A message as chat templates read it (OpenAI's shape, as llama.cpp passes it to `--jinja` templates). */
export interface TemplateMessage {
  role: string;
  content: string;
  reasoning_content?: string;
  tool_calls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: unknown } }>;
  tool_call_id?: string;
  name?: string;
}

export interface TemplateTool {
  type: 'function';
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

/** The variables a template sees; the same set llama.cpp's `--jinja` mode provides. */
export interface TemplateInputs {
  messages: readonly TemplateMessage[];
  tools?: readonly TemplateTool[];
  add_generation_prompt: boolean;
  bos_token: string;
  eos_token: string;
  enable_thinking: boolean;
  /** Passed through to templates that read it (llama.cpp also sets `reasoning_strength`). */
  reasoning_effort?: string;
  /** The rendering date, for `date_string` / `datetime` / `strftime_now` (Llama 3.x prints it). */
  now: Date;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTHS_LONG = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** The strftime subset templates use, in UTC and English, so a render does not depend on the host's locale. */
export function strftime(date: Date, format: string): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const table: Record<string, string> = {
    '%Y': String(date.getUTCFullYear()),
    '%m': pad(date.getUTCMonth() + 1),
    '%d': pad(date.getUTCDate()),
    '%b': MONTHS[date.getUTCMonth()],
    '%B': MONTHS_LONG[date.getUTCMonth()],
    '%H': pad(date.getUTCHours()),
    '%M': pad(date.getUTCMinutes()),
    '%%': '%',
  };
  return format.replace(/%[YmdbBHM%]/g, (t) => table[t] ?? t);
}

function range(start: number, stop?: number, step = 1): number[] {
  const [from, to] = stop === undefined ? [0, start] : [start, stop];
  if (step === 0) throw new Error('range() step must not be zero');
  const out: number[] = [];
  for (let i = from; step > 0 ? i < to : i > to; i += step) out.push(i);
  return out;
}

/**
 * A compiled chat template. `render` returns the prompt text; it throws
 * TemplateRaise when the template's own `raise_exception` fires and
 * TemplateFailure for anything else. Pure: the output depends only on the inputs.
 */
export class ChatTemplate {
  private readonly parsed: Template['parsed'];

  /** Throws TemplateFailure when the source does not parse. */
  constructor(readonly source: string) {
    try {
      this.parsed = new Template(source).parsed;
    } catch (err) {
      throw new TemplateFailure(`the chat template does not parse: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  render(inputs: TemplateInputs): string {
    try {
      return this.renderOnce(inputs);
    } catch (err) {
      // Jinja2 iterates an undefined `tools` as empty; @huggingface/jinja throws. Templates written for tools
      // (Hermes 2 Pro's tool_use variant, Command R+) loop over it unconditionally.
      const undefinedLoop = err instanceof TemplateFailure && /for loop: got UndefinedValue/.test(err.message);
      if (!undefinedLoop || (inputs.tools && inputs.tools.length > 0)) throw err;
      return this.renderOnce({ ...inputs, tools: [] }, true);
    }
  }

  private renderOnce(inputs: TemplateInputs, emptyTools = false): string {
    const env = new Environment();
    const globals: Record<string, unknown> = {
      true: true,
      false: false,
      none: null,
      True: true,
      False: false,
      None: null,
      range,
      raise_exception: (message: unknown) => {
        throw new TemplateRaise(String(message));
      },
      strftime_now: (format: string) => strftime(inputs.now, String(format)),
      messages: inputs.messages,
      add_generation_prompt: inputs.add_generation_prompt,
      bos_token: inputs.bos_token,
      eos_token: inputs.eos_token,
      enable_thinking: inputs.enable_thinking,
      date_string: strftime(inputs.now, '%d %b %Y'),
      datetime: strftime(inputs.now, '%b %d %Y'),
    };
    // Templates test `tools is defined` / `tools is not none`: absent tools must stay undefined.
    if ((inputs.tools && inputs.tools.length > 0) || emptyTools) globals.tools = inputs.tools ?? [];
    if (inputs.reasoning_effort !== undefined) {
      globals.reasoning_effort = inputs.reasoning_effort;
      globals.reasoning_strength = inputs.reasoning_effort;
    }
    for (const [key, value] of Object.entries(globals)) env.set(key, value);
    try {
      return new LenientInterpreter(env).run(this.parsed).value as string;
    } catch (err) {
      if (err instanceof TemplateRaise) throw err;
      throw new TemplateFailure(`the chat template failed to render: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
