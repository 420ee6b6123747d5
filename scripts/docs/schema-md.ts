import * as z from 'zod';

/**
 * Renders a request schema for docs/api.md from zod's own JSON Schema (`z.toJSONSchema`, input side: defaults
 * make a field optional), so the reference says exactly what the Worker's `safeParse` accepts.
 */

// A JSON Schema node as zod emits it; only the keywords rendered here are named.
export interface Json {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  anyOf?: Json[];
  oneOf?: Json[];
  not?: Json;
  items?: Json;
  properties?: Record<string, Json>;
  required?: string[];
  additionalProperties?: boolean | Json;
  propertyNames?: Json;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
  default?: unknown;
}

export function jsonSchemaOf(schema: z.ZodType): Json {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json & { $schema?: string };
  return rest;
}

const MAX_DEPTH = 2;

/** A compact, TypeScript-like type expression; objects nested deeper than MAX_DEPTH read `{…}`. */
export function typeExpr(s: Json, depth = 0): string {
  return expr(s, depth).text;
}

/** `union`: the text is a top-level union, so an array of it needs parentheses. */
function expr(s: Json, depth: number): { text: string; union: boolean } {
  const one = (text: string) => ({ text, union: false });
  if (s.not && Object.keys(s.not).length === 0) return one('never (refused)');
  if (s.const !== undefined) return one(JSON.stringify(s.const));
  if (s.enum) return { text: s.enum.map((v) => JSON.stringify(v)).join(' | '), union: s.enum.length > 1 };
  const members = s.anyOf ?? s.oneOf;
  if (members) return { text: members.map((u) => expr(u, depth).text).join(' | '), union: members.length > 1 };
  if (Array.isArray(s.type)) return { text: s.type.join(' | '), union: s.type.length > 1 };
  if (s.type === 'array') {
    const inner = s.items ? expr(s.items, depth) : one('unknown');
    return one(inner.union ? `(${inner.text})[]` : `${inner.text}[]`);
  }
  if (s.type === 'object') {
    if (s.properties) {
      if (depth >= MAX_DEPTH) return one('{…}');
      const req = new Set(s.required ?? []);
      const fields = Object.entries(s.properties).map(([k, v]) => `${k}${req.has(k) ? '' : '?'}: ${expr(v, depth + 1).text}`);
      return one(`{${fields.join(', ')}}`);
    }
    if (typeof s.additionalProperties === 'object') return one(`{[key: string]: ${expr(s.additionalProperties, depth + 1).text}}`);
    return one('object');
  }
  return one(s.type ?? 'any');
}

/** Ranges, lengths, patterns and defaults of one field, in words. */
export function constraints(s: Json): string {
  const out: string[] = [];
  const range = (lo: number | undefined, hi: number | undefined, unit: string) => {
    if (lo !== undefined && hi !== undefined) out.push(`${unit}${lo}–${hi}`);
    else if (lo !== undefined) out.push(`${unit}≥ ${lo}`);
    else if (hi !== undefined) out.push(`${unit}≤ ${hi}`);
  };
  const flat = (s.anyOf ?? s.oneOf)?.filter((u) => u.type !== 'null') ?? [];
  const one = flat.length === 1 ? { ...flat[0], default: s.default } : s;
  if (one.exclusiveMinimum !== undefined && one.minimum === undefined) out.push(`> ${one.exclusiveMinimum}`);
  range(one.minimum, one.maximum, '');
  range(one.minLength, one.maxLength, 'length ');
  range(one.minItems, one.maxItems, 'items ');
  if (one.pattern) out.push(`pattern \`${one.pattern}\``);
  if (one.format) out.push(one.format);
  if (one.default !== undefined) out.push(`default \`${JSON.stringify(one.default)}\``);
  return out.join(', ');
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** A field table (field, type, required, constraints) for an object schema, plus a line on unknown fields. */
export function fieldTable(schema: z.ZodType): string {
  const s = jsonSchemaOf(schema);
  if (s.type !== 'object' || !s.properties) return `Type: \`${typeExpr(s)}\`\n`;
  const req = new Set(s.required ?? []);
  const rows = Object.entries(s.properties).map(([name, f]) => {
    const type = typeExpr(f);
    return `| \`${name}\` | \`${cell(type).replace(/`/g, "'")}\` | ${req.has(name) ? 'yes' : ''} | ${cell(constraints(f))} |`;
  });
  const strict =
    s.additionalProperties === false
      ? 'Any other field is refused: `400 invalid_request` with `param` naming it.'
      : 'Fields not listed are ignored by the schema.';
  return ['| field | type | required | constraints |', '| --- | --- | --- | --- |', ...rows, '', strict, ''].join('\n');
}
