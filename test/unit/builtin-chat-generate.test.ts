import type { LlamaContextSequence, Token } from 'node-llama-cpp';
import { LlamaGrammarEvaluationState } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatFormatOf } from '../../nodes/engines/builtin/chat/chat-format';
import { generateChat } from '../../nodes/engines/builtin/chat/generate';
import { parseOutput } from '../../nodes/engines/builtin/chat/output-parser';
import type { Engine } from '../../nodes/engines/builtin/engine';
import { callGbnf, compile, schemaGbnf } from '../../nodes/engines/builtin/grammar/grammars';
import { templateSource } from './helpers/chat-families';
import { demoEngine } from './helpers/engine-run';

// The generation loop's grammar hand-over, with the model's sampling replaced by a script (sampling cannot be
// steered into a marker that ends mid-token); tokenizer, detokenizer and grammar states are the real model's.

let engine: Engine;
beforeAll(async () => {
  engine = await demoEngine('demo-llama3.1', 2048);
}, 120_000);
afterAll(async () => engine?.dispose());

/** A context sequence whose `evaluate` yields scripted tokens, recording each call's input and grammar state. */
function scriptedSequence(scripts: Token[][]) {
  const calls: Array<{ input: Token[]; grammar: unknown }> = [];
  const seq = {
    nextTokenIndex: 0,
    adaptStateToTokens: async () => {},
    eraseContextTokenRanges: async () => {},
    evaluate(input: Token[], opts: { grammarEvaluationState?: () => unknown }) {
      calls.push({ input, grammar: opts.grammarEvaluationState?.() });
      const script = scripts.shift() ?? [];
      return (async function* () {
        for (const t of script) {
          calls.at(-1)!.grammar = opts.grammarEvaluationState?.();
          yield t;
        }
      })();
    },
  };
  return { seq: seq as unknown as LlamaContextSequence, calls };
}

describe('grammar hand-over on the same sequence', () => {
  it('cuts a token that runs past the marker and feeds the text up to it, so the grammar starts right after', async () => {
    const format = chatFormatOf(templateSource('meta-llama-Llama-3.1-8B-Instruct'));
    const syntax = format.syntax!;
    const grammar = compile(
      engine.llama,
      callGbnf(syntax, [{ name: 'grep', gbnf: await schemaGbnf(engine.llama, { type: 'object', properties: { q: { type: 'string' } } }, 'x') }], {
        parallel: false,
        marker: '{"name"',
      }),
    );
    const tok = (s: string) => engine.model.tokenize(s, true);
    // `{"` `name` `":` — the marker `{"name"` ends inside the third token.
    const first = tok('{"name":');
    expect(first).toHaveLength(3);
    const rest = tok(': "grep", "parameters": {"q": "x"}}'); // what the grammar allows after the marker
    const { seq, calls } = scriptedSequence([first, rest]);
    const spec = { syntax };
    const run = await generateChat(
      engine.model,
      seq,
      {
        prompt: tok('hi'),
        maxTokens: 100,
        sampling: { temperature: 1, topP: 1 },
        stop: [],
        spec,
        grammars: { onMarker: new Map([['{"name"', grammar]]) },
        keep: new Set(),
      },
      new AbortController().signal,
    );
    expect(calls).toHaveLength(2);
    expect(calls[0].grammar).toBeUndefined(); // free text until the marker
    expect(calls[1].input).toEqual(tok('"')); // the part of `":` before the cut, not the token itself
    expect(calls[1].grammar).toBeInstanceOf(LlamaGrammarEvaluationState);
    expect(run.text).toBe('{"name": "grep", "parameters": {"q": "x"}}');
    expect(run.stopReason).toBe('eog');
    expect(parseOutput(run.text, spec, true).calls).toEqual([{ name: 'grep', arguments: '{"q": "x"}', done: true }]);
  });

  it('restarts on the marker token itself when the marker ends on a token boundary', async () => {
    const format = chatFormatOf(templateSource('meta-llama-Llama-3.1-8B-Instruct'));
    const grammar = compile(engine.llama, 'root ::= "x"');
    const tok = (s: string) => engine.model.tokenize(s, true);
    const tag = tok('<|python_tag|>');
    expect(tag).toHaveLength(1);
    const { seq, calls } = scriptedSequence([[...tok('Sure'), ...tag], tok('{"name": "grep", "parameters": {}}')]);
    const run = await generateChat(
      engine.model,
      seq,
      {
        prompt: tok('hi'),
        maxTokens: 100,
        sampling: { temperature: 1, topP: 1 },
        stop: [],
        spec: { syntax: format.syntax },
        grammars: { onMarker: new Map([['<|python_tag|>', grammar]]) },
        keep: new Set(['<|python_tag|>']),
      },
      new AbortController().signal,
    );
    expect(calls[1].input).toEqual(tag);
    expect(run.text).toBe('Sure<|python_tag|>{"name": "grep", "parameters": {}}');
    expect(parseOutput(run.text, { syntax: format.syntax }, true)).toMatchObject({ content: 'Sure', calls: [{ name: 'grep', arguments: '{}' }] });
  });

  it('stops at a stop sequence, leaving it out, and at max_tokens', async () => {
    const tok = (s: string) => engine.model.tokenize(s, true);
    const base = { prompt: tok('hi'), sampling: { temperature: 1, topP: 1 }, spec: {}, grammars: {}, keep: new Set<string>() };
    const stopped = await generateChat(
      engine.model,
      scriptedSequence([tok('one two END three')]).seq,
      { ...base, maxTokens: 100, stop: ['END'] },
      new AbortController().signal,
    );
    expect(stopped).toMatchObject({ text: 'one two ', stopReason: 'stop' });
    const cut = await generateChat(
      engine.model,
      scriptedSequence([tok('one two three four')]).seq,
      { ...base, maxTokens: 2, stop: [] },
      new AbortController().signal,
    );
    expect(cut).toMatchObject({ text: 'one two', stopReason: 'maxTokens' });
  });
});
