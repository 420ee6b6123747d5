import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import type { Engine } from '../../nodes/engines/builtin/engine';
import {
  BOUNDED_INTEGER,
  BOUNDED_NUMBER,
  boundNumbers,
  embeddable,
  literal,
  prefixRules,
  splitRules,
  stripStopSuffix,
} from '../../nodes/engines/builtin/grammar/gbnf';
import { jsonObjectGbnf, jsonSchemaGbnf } from '../../nodes/engines/builtin/grammar/grammars';
import { chat, demoEngine } from './helpers/engine-run';

// Numbers every client parses: node-llama-cpp's own grammars allow `44444e5555555555555555` for an integer,
// which JSON.parse turns into Infinity and the Vercel AI SDK, LangChain and pydantic reject.

const schema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    score: { type: 'number' },
    offset: { type: 'integer' },
    ratio: { type: 'number' },
    samples: { type: 'array', items: { type: 'integer' }, maxItems: 3 },
  },
  required: ['id', 'score', 'offset', 'ratio', 'samples'],
  additionalProperties: false,
};
const int = z.number().int().finite().refine(Number.isSafeInteger, 'not a safe integer');
const Shape = z.object({ id: int, score: z.number().finite(), offset: int, ratio: z.number().finite(), samples: z.array(int).max(3) }).strict();

let engine: Engine;
beforeAll(async () => {
  // demo-small: its byte-level vocabulary (one token per character) makes grammar-constrained sampling cheap,
  // so many seeds fit in a unit test; the grammar is the same for every model.
  engine = await demoEngine('demo-small', 2048);
}, 120_000);
afterAll(async () => engine?.dispose());

describe('bounded number rules', () => {
  it('replaces the integer and number rules of node-llama-cpp grammars', async () => {
    const gbnf = await jsonSchemaGbnf(engine.llama, schema, 'x');
    const rules = new Map(splitRules(gbnf).map((r) => [r.name, r.body]));
    expect(rules.get('integer-number-rule')).toBe(BOUNDED_INTEGER);
    expect(rules.get('fractional-number-rule')).toBe(BOUNDED_NUMBER);
    expect(splitRules(await jsonObjectGbnf(engine.llama)).find((r) => r.name === 'number')?.body).toBe(`${BOUNDED_NUMBER} ws`);
    // Integers never carry an exponent; other numbers at most two exponent digits.
    expect(BOUNDED_INTEGER).not.toMatch(/eE/);
    expect(gbnf).not.toMatch(/\[0-9\]\{0,15\}|\[1-9\]\{0,15\}/);
  });

  it('refuses a grammar whose exponent rule it does not know, rather than let unbounded numbers through', () => {
    expect(() => boundNumbers('root ::= num\nnum ::= [0-9]+ ([eE] [0-9]+)?')).toThrow(/exponent/);
    expect(boundNumbers('root ::= "[eE] is a string"')).toBe('root ::= "[eE] is a string"');
  });

  it('embeds a grammar under a prefix without touching literals or character classes', () => {
    const g = 'root ::= "{" item "}" "\\n\\n\\n\\n" [\\n]*\nitem ::= [a-z]+ | "root"';
    expect(stripStopSuffix(g)).toBe('root ::= "{" item "}"\nitem ::= [a-z]+ | "root"');
    expect(prefixRules('root ::= item [a-z] "item"\nitem ::= "x"', 'p-')).toBe('p-root ::= p-item [a-z] "item"\np-item ::= "x"');
    expect(embeddable(g, 't0-')).toEqual({ rules: 't0-root ::= "{" t0-item "}"\nt0-item ::= [a-z]+ | "root"', root: 't0-root' });
    expect(literal('a"b\\c\nd')).toBe('"a\\"b\\\\c\\nd"');
  });
});

describe('json_schema integers and numbers, over many seeds', () => {
  it('always parse with JSON.parse into finite numbers that pass zod validation', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const { whole } = await chat(engine, {
        messages: [{ role: 'user', content: 'Numbers, please.' }],
        response_format: { type: 'json_schema', json_schema: { name: 'numbers', schema } },
        seed,
        max_tokens: 200,
      });
      expect(whole.choices[0].finish_reason, `seed ${seed}`).toBe('stop');
      const content = whole.choices[0].message.content as string;
      const parsed = Shape.safeParse(JSON.parse(content));
      expect(parsed.success, `seed ${seed}: ${content}`).toBe(true);
    }
  });

  it('hold for json_object answers too', async () => {
    const finite = (v: unknown): boolean =>
      typeof v === 'number' ? Number.isFinite(v) : v !== null && typeof v === 'object' ? Object.values(v).every(finite) : true;
    for (let seed = 1; seed <= 15; seed++) {
      const { whole } = await chat(engine, { messages: [{ role: 'user', content: 'JSON.' }], response_format: { type: 'json_object' }, seed, max_tokens: 200 });
      if (whole.choices[0].finish_reason !== 'stop') continue; // a long object cut by max_tokens is not JSON yet
      expect(finite(JSON.parse(whole.choices[0].message.content as string)), `seed ${seed}`).toBe(true);
    }
  });

  it('hold for tool arguments', async () => {
    const tool = { type: 'function', function: { name: 'record', description: 'Record numbers', parameters: schema } };
    for (let seed = 1; seed <= 15; seed++) {
      const { whole } = await chat(engine, {
        messages: [{ role: 'user', content: 'Record.' }],
        tools: [tool],
        tool_choice: { type: 'function', function: { name: 'record' } },
        seed,
        max_tokens: 200,
        parallel_tool_calls: false,
      });
      const [call] = whole.choices[0].message.tool_calls as Array<{ function: { arguments: string } }>;
      expect(Shape.safeParse(JSON.parse(call.function.arguments)).success, `seed ${seed}: ${call.function.arguments}`).toBe(true);
    }
  });
});
