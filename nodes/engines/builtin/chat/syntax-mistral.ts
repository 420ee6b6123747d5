import { literal } from '../grammar/gbnf';
import { nameArgsObject } from './syntax-hermes';
import { scanObject } from './json-scan';
import { type CallsRead, callObject, expect, type ParsedCall, skipWs, type ToolSyntax } from './tool-syntax';

const TOOL_CALLS = '[TOOL_CALLS]';

/** Mistral 7B v0.3 / Nemo: `[TOOL_CALLS][{"name": …, "arguments": {…}, "id": …}, …]` (the id is optional on output). */
export const mistralSyntax: ToolSyntax = {
  kind: 'mistral',
  markers: [TOOL_CALLS],
  forcedMarker: TOOL_CALLS,
  read(region: string): CallsRead {
    const calls: ParsedCall[] = [];
    let i = skipWs(region, region.startsWith(TOOL_CALLS) ? TOOL_CALLS.length : 0);
    const open = expect(region, i, '[');
    if (open < 0) return { calls, complete: false };
    i = open;
    for (;;) {
      i = skipWs(region, i);
      if (i >= region.length) return { calls, complete: false };
      if (region[i] === ']' && calls.length === 0) return { calls, complete: true };
      const { call, end, invalid } = callObject(region, i, ['arguments', 'parameters']);
      if (invalid) return { calls, complete: false };
      calls.push(call);
      if (end < 0) return { calls, complete: false };
      i = skipWs(region, end);
      if (i >= region.length) return { calls, complete: false };
      if (region[i] === ']') return { calls, complete: true };
      if (region[i] !== ',') return { calls, complete: false };
      i++;
    }
  },
  grammar(_marker, tools, parallel) {
    const more = parallel ? ' (", " call)*' : '';
    return [`root ::= "[" call${more} "]"`, `call ::= ${nameArgsObject(tools, 'arguments')}`].join('\n');
  },
};

const ARGS = '[ARGS]';
const CALL_ID = '[CALL_ID]';

/** Mistral Small 3.2 / Devstral / Ministral 3: `[TOOL_CALLS]name[CALL_ID]id[ARGS]{…}` per call (`[CALL_ID]` optional). */
export const mistralArgsSyntax: ToolSyntax = {
  kind: 'mistral-args',
  markers: [TOOL_CALLS],
  forcedMarker: TOOL_CALLS,
  tokens: [ARGS, CALL_ID],
  read(region: string): CallsRead {
    const calls: ParsedCall[] = [];
    let i = 0;
    for (;;) {
      i = skipWs(region, i);
      if (i >= region.length) return { calls, complete: calls.length > 0 };
      const open = expect(region, i, TOOL_CALLS);
      if (open === -1) return { calls, complete: false };
      if (open === -2 && calls.length > 0) return { calls, complete: true };
      // Ministral 3 lists calls after one [TOOL_CALLS]; then the next name follows directly.
      const nameStart = open >= 0 ? open : i;
      const argsAt = region.indexOf(ARGS, nameStart);
      if (argsAt < 0) return { calls, complete: false };
      const head = region.slice(nameStart, argsAt);
      const name = (head.includes(CALL_ID) ? head.slice(0, head.indexOf(CALL_ID)) : head).trim();
      const start = skipWs(region, argsAt + ARGS.length);
      if (start >= region.length) {
        calls.push({ name, arguments: '', done: false });
        return { calls, complete: false };
      }
      const { end, invalid } = scanObject(region, start);
      if (invalid) return { calls, complete: false };
      calls.push({ name, arguments: region.slice(start, end < 0 ? region.length : end), done: end >= 0 });
      if (end < 0) return { calls, complete: false };
      i = end;
    }
  },
  grammar(_marker, tools, parallel) {
    const alts = tools.map((t) => `${literal(`${t.name}${ARGS}`)} ${t.argsRule}`).join(' | ');
    const more = parallel ? ` (${literal(TOOL_CALLS)} call)*` : '';
    return [`root ::= call${more}`, `call ::= ${alts}`].join('\n');
  },
};
