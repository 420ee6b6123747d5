import type { ReasoningTags } from './chat-format';
import type { ParsedCall, ToolSyntax } from './tool-syntax';

/** How to read one answer: the model's reasoning tags and, when tools are on, its call syntax. */
export interface OutputSpec {
  reasoning?: ReasoningTags & { /** The prompt opened the block: the answer starts inside it. */ open: boolean };
  syntax?: ToolSyntax;
}

export interface ParsedOutput {
  reasoning: string;
  content: string;
  /** Calls whose name is known (later calls are still being written). */
  calls: ParsedCall[];
  phase: 'reasoning' | 'content' | 'calls';
  /** Index in the text just past the reasoning block's end tag, once it closed. */
  reasoningEnd?: number;
  /** Where the call region starts and the marker that opened it. */
  callsAt?: number;
  marker?: string;
}

/** Scan positions a reader may resume from: results never change, only the work shrinks. */
export interface ScanHints {
  reasoningFrom?: number;
  markerFrom?: number;
}

/** Length of the longest suffix of `text` that is a proper prefix of one of `words` (text that may still become one). */
export function heldSuffix(text: string, words: readonly string[]): number {
  let best = 0;
  for (const w of words) {
    for (let n = Math.min(w.length - 1, text.length); n > best; n--) {
      if (text.endsWith(w.slice(0, n))) {
        best = n;
        break;
      }
    }
  }
  return best;
}

/**
 * Splits generated text into reasoning, content and tool calls (pure).
 * With `final` false the text may still grow: anything that could turn out to
 * be a tag or a call marker, and content that is only whitespace so far, is held back, so that each
 * later result only extends the previous one (what streaming needs) and the
 * final result extends them all. A call region that names no call by the end is
 * content after all; a call cut off by max_tokens stays a call with the
 * arguments generated so far, exactly as it was streamed.
 */
export function parseOutput(text: string, spec: OutputSpec, final: boolean, hints: ScanHints = {}): ParsedOutput {
  let reasoning = '';
  let pos = 0;
  let reasoningEnd: number | undefined;
  const tags = spec.reasoning;
  if (tags) {
    let start: number | undefined = tags.open ? 0 : undefined;
    if (!tags.open) {
      const lead = text.length - text.trimStart().length;
      const rest = text.slice(lead, lead + tags.start.length);
      if (rest === tags.start) start = lead + tags.start.length;
      else if (!final && tags.start.startsWith(rest)) return { reasoning: '', content: '', calls: [], phase: 'content' }; // may be a tag
    }
    if (start !== undefined) {
      const end = text.indexOf(tags.end, Math.max(start, hints.reasoningFrom ?? 0));
      if (end < 0) {
        const body = final ? text.slice(start) : text.slice(start, text.length - heldSuffix(text, [tags.end]));
        return { reasoning: body.trim(), content: '', calls: [], phase: 'reasoning' };
      }
      reasoning = text.slice(start, end).trim();
      reasoningEnd = end + tags.end.length;
      pos = reasoningEnd;
      pos += text.length - pos - text.slice(pos).trimStart().length;
    }
  }
  const syntax = spec.syntax;
  let callsAt = -1;
  let marker: string | undefined;
  if (syntax) {
    const lead = pos + (text.length - pos - text.slice(pos).trimStart().length);
    for (const m of syntax.startMarkers ?? []) {
      if (text.startsWith(m, lead)) {
        callsAt = lead;
        marker = m;
      } else if (!final && m.startsWith(text.slice(lead))) {
        return { reasoning, content: '', calls: [], phase: 'content', reasoningEnd }; // may be a bare call
      }
    }
    if (callsAt < 0) {
      const from = Math.max(pos, hints.markerFrom ?? 0);
      for (const m of syntax.markers) {
        const at = text.indexOf(m, from);
        if (at >= 0 && (callsAt < 0 || at < callsAt)) {
          callsAt = at;
          marker = m;
        }
      }
    }
  }
  if (callsAt < 0) {
    let content = text.slice(pos);
    if (!final) {
      content = content.slice(0, content.length - heldSuffix(content, syntax?.markers ?? []));
      // Whitespace alone may still be the lead-in to a call (then the message has no content).
      if (syntax && !/\S/.test(content)) content = '';
    }
    return { reasoning, content, calls: [], phase: 'content', reasoningEnd };
  }
  const before = text.slice(pos, callsAt);
  const region = text.slice(callsAt);
  const read = syntax!.read(region);
  const named = read.calls.filter((c): c is ParsedCall & { name: string } => c.name !== undefined && c.name !== '');
  if (final && named.length === 0) return { reasoning, content: text.slice(pos), calls: [], phase: 'content', reasoningEnd };
  return { reasoning, content: /\S/.test(before) ? before : '', calls: named, phase: 'calls', reasoningEnd, callsAt, marker };
}

/** Where the next parse of a longer text may start scanning, given this one's result. */
export function nextHints(text: string, spec: OutputSpec, parsed: ParsedOutput): ScanHints {
  const longest = (words: readonly string[]) => words.reduce((n, w) => Math.max(n, w.length), 0);
  const hints: ScanHints = {};
  if (parsed.phase === 'reasoning' && spec.reasoning) hints.reasoningFrom = Math.max(0, text.length - spec.reasoning.end.length);
  if (parsed.phase === 'content' && spec.syntax) hints.markerFrom = Math.max(0, text.length - longest(spec.syntax.markers));
  return hints;
}

/** Incremental `parseOutput` over a text that only grows: the same results, scanning only what is new. */
export class OutputReader {
  private hints: ScanHints = {};
  constructor(private readonly spec: OutputSpec) {}
  read(text: string): ParsedOutput {
    const parsed = parseOutput(text, this.spec, false, this.hints);
    this.hints = nextHints(text, this.spec, parsed);
    return parsed;
  }
}
