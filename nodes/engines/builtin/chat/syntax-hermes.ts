import { literal } from '../grammar/gbnf';
import { type CallsRead, callObject, expect, type GrammarTool, type ParsedCall, skipWs, type ToolSyntax } from './tool-syntax';

const OPEN = '<tool_call>';
const CLOSE = '</tool_call>';

/** `{"name": "f", "arguments": <args>}` over the tools, in the spacing the templates show. */
export function nameArgsObject(tools: readonly GrammarTool[], argsKey: string): string {
  const alts = tools.map((t) => `${literal(`"${t.name}", "${argsKey}": `)} ${t.argsRule}`).join(' | ');
  return `"{\\"name\\": " (${alts}) "}"`;
}

/**
 * Hermes 2 Pro / Qwen2.5 / Qwen3: `<tool_call>\n{"name": …, "arguments": {…}}\n</tool_call>`,
 * one block per call, blocks separated by a newline.
 */
export const hermesSyntax: ToolSyntax = {
  kind: 'hermes',
  markers: [OPEN],
  forcedMarker: OPEN,
  tokens: [CLOSE],
  read(region: string): CallsRead {
    const calls: ParsedCall[] = [];
    let i = 0;
    for (;;) {
      i = skipWs(region, i);
      if (i >= region.length) return { calls, complete: calls.length > 0 };
      const open = expect(region, i, OPEN);
      if (open === -1) return { calls, complete: false };
      if (open === -2) return { calls, complete: calls.length > 0 }; // trailing text after the calls is not read
      const at = skipWs(region, open);
      if (at >= region.length) return { calls, complete: false };
      const { call, end, invalid } = callObject(region, at, ['arguments', 'parameters']);
      if (invalid) return { calls, complete: false };
      calls.push(call);
      if (end < 0) return { calls, complete: false };
      i = skipWs(region, end);
      const close = expect(region, i, CLOSE);
      if (close === -1) return { calls, complete: false };
      if (close >= 0) i = close; // some models drop the closing tag; the call is whole either way
    }
  },
  grammar(_marker, tools, parallel) {
    const more = parallel ? ` ("\\n" ${literal(OPEN)} block)*` : '';
    return [`root ::= block${more}`, `block ::= "\\n" ${nameArgsObject(tools, 'arguments')} "\\n" ${literal(CLOSE)}`].join('\n');
  },
};
