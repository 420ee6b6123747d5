import { type Llama, LlamaGrammar } from 'node-llama-cpp';
import { ApiError } from '../errors';
import type { GrammarTool, ToolSyntax } from '../chat/tool-syntax';
import { boundNumbers, embeddable, literal, prefixRules, stripStopSuffix } from './gbnf';

/** The GBNF node-llama-cpp generates for a JSON schema; a schema it cannot express is the client's 400, naming `param`. */
export async function schemaGbnf(llama: Llama, schema: unknown, param: string): Promise<string> {
  try {
    // Client input: node-llama-cpp validates the schema and throws on constructs it cannot turn into a grammar.
    return (await llama.createGrammarForJsonSchema(schema as never)).grammar;
  } catch (err) {
    throw new ApiError('invalid_request', `${param}: unsupported JSON schema (${err instanceof Error ? err.message : String(err)})`, param);
  }
}

/** Optional whitespace before forced output that follows a reasoning block (`</think>\n\n{…}`). */
const LEAD = '[ \\t\\n]{0,4}';

/** Wraps a grammar whose root generates X into one that generates (lead) X; `gbnf` keeps its own rule names. */
function led(gbnf: string, lead: boolean): string {
  if (!lead) return gbnf;
  return `root ::= ${LEAD} body\n${prefixRules(gbnf, 'b-').replace(/^b-root ::=/m, 'body ::=')}`;
}

/** Any JSON object (response_format json_object), numbers bounded. */
export async function jsonObjectGbnf(llama: Llama): Promise<string> {
  return stripStopSuffix(boundNumbers((await llama.getGrammarFor('json')).grammar));
}

/** A schema's values only (response_format json_schema), numbers bounded. */
export async function jsonSchemaGbnf(llama: Llama, schema: unknown, param: string): Promise<string> {
  return stripStopSuffix(boundNumbers(await schemaGbnf(llama, schema, param)));
}

export interface CallGrammarTool {
  name: string;
  /** Grammar of the tool's arguments object (from its parameters schema). */
  gbnf: string;
}

/**
 * The grammar of a family's call region: after `marker` (lazy, `auto`), or
 * starting with the family's marker (`forced`: `required` and named choices).
 */
export function callGbnf(syntax: ToolSyntax, tools: readonly CallGrammarTool[], opts: { parallel: boolean; marker?: string; lead?: boolean }): string {
  const parts: string[] = [];
  const grammarTools: GrammarTool[] = tools.map((t, i) => {
    const e = embeddable(t.gbnf, `t${i}-`);
    parts.push(e.rules);
    return { name: t.name, argsRule: e.root };
  });
  const marker = opts.marker ?? syntax.forcedMarker;
  // Syntax grammars name their rules root/block/call and refer to tools only through `t<i>-` rules, so nothing collides.
  const region = syntax.grammar(marker, grammarTools, opts.parallel).replace(/^root ::=/m, 'region ::=');
  const root = opts.marker ? 'root ::= region' : `root ::= ${opts.lead ? `${LEAD} ` : ''}${literal(marker)} region`;
  return [root, region, ...parts].join('\n');
}

/** Compiles GBNF; a grammar that does not compile is this engine's bug, not the client's. */
export function compile(llama: Llama, gbnf: string): LlamaGrammar {
  return new LlamaGrammar(llama, { grammar: gbnf });
}

export { led };
