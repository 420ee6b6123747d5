import { scanObject, skipWs, stringField, valueEnd } from './json-scan';

/**
 * A call read from model output. While the output is still growing, `name` is
 * undefined until its text is complete and `arguments` is the raw argument text
 * so far; later reads only ever extend it, so it can stream as deltas.
 */
export interface ParsedCall {
  name?: string;
  arguments: string;
  /** The call's text is complete. */
  done: boolean;
}

export interface CallsRead {
  calls: ParsedCall[];
  /** The calls' text ended as the syntax requires (nothing cut off). */
  complete: boolean;
}

/** The tools a call grammar may name, each with the GBNF rule of its arguments object. */
export interface GrammarTool {
  name: string;
  argsRule: string;
}

/**
 * One family's tool-call syntax (STYLE.md: chosen from what the template shows).
 * `read` parses the call region (output from the marker on); `grammar` is the
 * GBNF of that region after `marker`, so a grammar can take over exactly where
 * free text produced the marker.
 */
export interface ToolSyntax {
  kind: 'hermes' | 'llama3' | 'mistral' | 'mistral-args' | 'deepseek';
  /** Texts that open the call region anywhere in free output. */
  markers: readonly string[];
  /** Texts that open it only at the very start of the answer (Llama 3's bare JSON call). */
  startMarkers?: readonly string[];
  /** The marker a forced call (`required`, named) starts with. */
  forcedMarker: string;
  /** Other special tokens of the syntax whose text generated answers keep. */
  tokens?: readonly string[];
  read(region: string): CallsRead;
  /** GBNF rules whose `root` generates the rest of the region after `marker`; `parallel` allows more than one call. */
  grammar(marker: string, tools: readonly GrammarTool[], parallel: boolean): string;
}

/**
 * Reads `{"name": …, "<argsKey>": {…}}` at `i`. `name` only once its string is
 * complete; arguments as raw text (a string value is decoded once complete).
 */
export function callObject(text: string, i: number, argKeys: readonly string[]): { call: ParsedCall; end: number; invalid: boolean } {
  const scan = scanObject(text, i);
  const name = stringField(
    text,
    scan.fields.find((f) => f.key === 'name'),
  );
  const args = scan.fields.find((f) => argKeys.includes(f.key));
  let argText = '';
  if (args) {
    const raw = text.slice(args.start, args.end < 0 ? text.length : args.end);
    // Some models send arguments as a JSON string; it is decoded, so only once whole.
    if (text[args.start] === '"') argText = args.end < 0 ? '' : (stringField(text, args) ?? '');
    else argText = raw;
  }
  return { call: { name, arguments: argText, done: scan.end >= 0 }, end: scan.end, invalid: scan.invalid };
}

/** Consumes `literal` at `i`: the index after it, -1 if the text stops inside it, -2 if something else is there. */
export function expect(text: string, i: number, literal: string): number {
  const have = text.slice(i, i + literal.length);
  if (have === literal) return i + literal.length;
  return literal.startsWith(have) ? -1 : -2;
}

/** The JSON value at `i` whole, or undefined when it is cut off or not JSON. */
export function jsonAt(text: string, i: number): { value: unknown; end: number } | undefined {
  const end = valueEnd(text, i);
  if (end < 0) return undefined;
  try {
    return { value: JSON.parse(text.slice(i, end)), end };
  } catch {
    return undefined;
  }
}

export { skipWs };
