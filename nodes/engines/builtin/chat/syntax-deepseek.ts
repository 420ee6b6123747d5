import { literal } from '../grammar/gbnf';
import { scanObject } from './json-scan';
import { type CallsRead, expect, type ParsedCall, skipWs, type ToolSyntax } from './tool-syntax';

const CALLS_BEGIN = '<｜tool▁calls▁begin｜>';
const CALLS_END = '<｜tool▁calls▁end｜>';
const CALL_BEGIN = '<｜tool▁call▁begin｜>';
const CALL_END = '<｜tool▁call▁end｜>';
const SEP = '<｜tool▁sep｜>';
const FENCE_OPEN = '```json';
const FENCE_CLOSE = '```';

/**
 * DeepSeek R1 (and its Qwen/Llama distills), V3:
 * `<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\n{…}\n```<｜tool▁call▁end｜>`,
 * calls separated by newlines, closed by `<｜tool▁calls▁end｜>`. The code fence is optional when reading.
 */
export const deepseekSyntax: ToolSyntax = {
  kind: 'deepseek',
  // Distills sometimes skip the outer marker and open a call directly.
  markers: [CALLS_BEGIN, CALL_BEGIN],
  forcedMarker: CALLS_BEGIN,
  tokens: [CALLS_END, CALL_END, SEP],
  read(region: string): CallsRead {
    const calls: ParsedCall[] = [];
    let i = region.startsWith(CALLS_BEGIN) ? CALLS_BEGIN.length : 0;
    for (;;) {
      i = skipWs(region, i);
      if (i >= region.length) return { calls, complete: false };
      const end = expect(region, i, CALLS_END);
      if (end >= 0) return { calls, complete: calls.length > 0 };
      const begin = expect(region, i, CALL_BEGIN);
      if (begin === -1 || end === -1) return { calls, complete: false };
      if (begin === -2) return { calls, complete: calls.length > 0 };
      const sep = region.indexOf(SEP, begin);
      if (sep < 0) return { calls, complete: false };
      const nl = region.indexOf('\n', sep + SEP.length);
      if (nl < 0) return { calls, complete: false };
      const name = region.slice(sep + SEP.length, nl).trim();
      let at = skipWs(region, nl);
      const fence = expect(region, at, FENCE_OPEN);
      if (fence === -1) {
        calls.push({ name, arguments: '', done: false });
        return { calls, complete: false };
      }
      if (fence >= 0) at = skipWs(region, fence);
      if (at >= region.length) {
        calls.push({ name, arguments: '', done: false });
        return { calls, complete: false };
      }
      const { end: argsEnd, invalid } = scanObject(region, at);
      if (invalid) return { calls, complete: false };
      const args = region.slice(at, argsEnd < 0 ? region.length : argsEnd);
      if (argsEnd < 0) {
        calls.push({ name, arguments: args, done: false });
        return { calls, complete: false };
      }
      i = skipWs(region, argsEnd);
      if (fence >= 0) {
        const close = expect(region, i, FENCE_CLOSE);
        if (close === -1) {
          calls.push({ name, arguments: args, done: false });
          return { calls, complete: false };
        }
        if (close >= 0) i = skipWs(region, close);
      }
      const callEnd = expect(region, i, CALL_END);
      calls.push({ name, arguments: args, done: callEnd !== -1 });
      if (callEnd === -1) return { calls, complete: false };
      if (callEnd >= 0) i = callEnd;
    }
  },
  grammar(marker, tools, parallel) {
    const alts = tools.map((t) => `${literal(`${t.name}\n${FENCE_OPEN}\n`)} ${t.argsRule}`).join(' | ');
    const call = `call ::= ${literal(`${CALL_BEGIN}function${SEP}`)} (${alts}) ${literal(`\n${FENCE_CLOSE}${CALL_END}`)}`;
    const more = parallel ? ` ("\\n" call)*` : '';
    // After an opening `<｜tool▁call▁begin｜>` the first call is already under way.
    const first = marker === CALL_BEGIN ? `${literal(`function${SEP}`)} (${alts}) ${literal(`\n${FENCE_CLOSE}${CALL_END}`)}` : 'call';
    return [`root ::= ${first}${more} ${literal(CALLS_END)}`, call].join('\n');
  },
};
