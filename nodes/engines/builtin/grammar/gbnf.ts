/**
 * Small, pure transformations of GBNF grammar text (llama.cpp's grammar format),
 * so grammars node-llama-cpp generates from JSON schemas can be embedded in
 * larger ones and their numbers bounded.
 */

/** A GBNF string literal for `text` (any UTF-8 is allowed inside; quotes, backslashes and control characters escaped). */
export function literal(text: string): string {
  const body = text.replace(/[\\"\n\r\t]/g, (c) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c] ?? c);
  return `"${body}"`;
}

// Literals, character classes and comments pass through untouched; identifiers are rule names.
const TOKEN = /"(?:\\.|[^"\\])*"|\[(?:\\.|[^\]\\])*\]|#[^\n]*|[a-zA-Z][a-zA-Z0-9-]*|[\s\S]/g;

/** Every rule name in `gbnf` (definitions and references) with `prefix` in front. */
export function prefixRules(gbnf: string, prefix: string): string {
  return gbnf.replace(TOKEN, (t) => (/^[a-zA-Z]/.test(t) ? `${prefix}${t}` : t));
}

/** Rules as `name → body`, in order; multi-line bodies (continuation lines) are kept whole. */
export function splitRules(gbnf: string): Array<{ name: string; body: string }> {
  const rules: Array<{ name: string; body: string }> = [];
  for (const line of gbnf.split('\n')) {
    const m = /^([a-zA-Z][a-zA-Z0-9-]*)\s*::=(.*)$/.exec(line);
    if (m) rules.push({ name: m[1], body: m[2] });
    else if (rules.length > 0 && !/^\s*#/.test(line)) rules[rules.length - 1].body += `\n${line}`;
  }
  return rules;
}

export const joinRules = (rules: ReadonlyArray<{ name: string; body: string }>) => rules.map((r) => `${r.name} ::=${r.body}`).join('\n');

/**
 * JSON numbers every client parses into a finite value: integers of at most 15
 * digits (always safe integers), no exponent; other numbers at most 15 digits
 * before and after the point and a two-digit exponent (so at most ~1e114).
 * node-llama-cpp's own rules allow 16-digit exponents (`44444e5555555555555555`).
 */
export const BOUNDED_INTEGER = ` "-"? ("0" | [1-9] [0-9]{0,14})`;
export const BOUNDED_NUMBER = ` "-"? ("0" | [1-9] [0-9]{0,14}) ("." [0-9]{1,15})? ([eE] [-+]? [1-9] [0-9]?)?`;

/** The number rules of node-llama-cpp's grammars (3.22), by name, and what replaces each. */
const NUMBER_RULES: Record<string, string> = {
  'integer-number-rule': BOUNDED_INTEGER,
  'fractional-number-rule': BOUNDED_NUMBER,
  number: `${BOUNDED_NUMBER} ws`,
};

/**
 * Replaces the number rules of a node-llama-cpp grammar with bounded ones.
 * Throws when a rule still admits an exponent it does not know (a newer
 * node-llama-cpp renamed its rules): unbounded numbers must never slip through.
 */
export function boundNumbers(gbnf: string): string {
  const rules = splitRules(gbnf).map((r) => {
    if (r.name in NUMBER_RULES) return { name: r.name, body: NUMBER_RULES[r.name] };
    if (/\[eE\]/.test(r.body.replace(/"(?:\\.|[^"\\])*"/g, '""'))) throw new Error(`grammar rule ${r.name} admits an exponent this code does not bound`);
    return r;
  });
  return joinRules(rules);
}

/** node-llama-cpp ends schema grammars' root with newlines it uses as a stop trigger; embedded grammars end where the value ends. */
export function stripStopSuffix(gbnf: string): string {
  return joinRules(splitRules(gbnf).map((r) => (r.name === 'root' ? { name: r.name, body: r.body.replace(/\s*"\\n\\n\\n\\n"\s*\[\\n\]\*\s*$/, '') } : r)));
}

/** A grammar made fit to embed: bounded numbers, no stop suffix, every rule prefixed; `root` is `${prefix}root`. */
export function embeddable(gbnf: string, prefix: string): { rules: string; root: string } {
  return { rules: prefixRules(stripStopSuffix(boundNumbers(gbnf)), prefix), root: `${prefix}root` };
}
