import { literal } from '../grammar/gbnf';
import { nameArgsObject } from './syntax-hermes';
import { type CallsRead, callObject, type GrammarTool, skipWs, type ToolSyntax } from './tool-syntax';

const PYTHON_TAG = '<|python_tag|>';
const JSON_START = '{"name"';

/**
 * Llama 3.1/3.2/3.3: the answer is a bare JSON call `{"name": "f", "parameters": {…}}`
 * (recognised only at the start of the answer, as llama.cpp does), or follows
 * `<|python_tag|>`. One call per turn: the templates refuse several.
 */
export const llama3Syntax: ToolSyntax = {
  kind: 'llama3',
  markers: [PYTHON_TAG],
  startMarkers: [JSON_START],
  forcedMarker: JSON_START,
  read(region: string): CallsRead {
    let i = region.startsWith(PYTHON_TAG) ? PYTHON_TAG.length : 0;
    i = skipWs(region, i);
    if (i >= region.length) return { calls: [], complete: false };
    const { call, end, invalid } = callObject(region, i, ['parameters', 'arguments']);
    if (invalid) return { calls: [], complete: false };
    return { calls: [call], complete: end >= 0 };
  },
  grammar(marker, tools: readonly GrammarTool[]) {
    if (marker === PYTHON_TAG) return `root ::= ${nameArgsObject(tools, 'parameters')}`;
    // After `{"name"`: the rest of the object.
    const alts = tools.map((t) => `${literal(`: "${t.name}", "parameters": `)} ${t.argsRule}`).join(' | ');
    return `root ::= (${alts}) "}"`;
  },
};
