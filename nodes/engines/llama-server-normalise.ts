/**
 * Makes llama-server answer in the shapes porten's API promises, so a client
 * cannot tell it from the builtin engine except by speed. Pure functions plus
 * one small per-stream state; table-tested in test/unit/llama-server-normalise.test.ts.
 * docs/engines.md lists every difference and what is done about it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mapLlamaError, type PortenError, portenError } from './llama-server-errors';

/** `chat_template_caps` from llama-server's `/props`. */
export interface TemplateCaps {
  supports_tools?: boolean;
  supports_tool_calls?: boolean;
  supports_parallel_tool_calls?: boolean;
  supports_system_role?: boolean;
  [k: string]: unknown;
}

export interface NormaliseContext {
  model: string;
  /** The template's capabilities; undefined until the server is ready. */
  caps?: TemplateCaps;
}

type Body = Record<string, unknown>;
type Json = Record<string, unknown>;

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** 9 alphanumeric characters derived from `id`: the form every family's template accepts (Mistral demands it). */
export function templateCallId(id: string): string {
  const h = createHash('sha256').update(id).digest();
  let out = '';
  for (let i = 0; i < 9; i++) out += ALNUM[h[i] % ALNUM.length];
  return out;
}

/** A fresh OpenAI-style call id (`call_` + 24 alphanumerics), as the builtin engine's look. */
export function newCallId(): string {
  const b = randomBytes(24);
  let out = 'call_';
  for (let i = 0; i < 24; i++) out += ALNUM[b[i] % ALNUM.length];
  return out;
}

/** `system_fingerprint`: `fp_` + 10 hex, stable per engine and model, in the builtin engine's format. */
export function fingerprintOf(model: string): string {
  return `fp_${createHash('sha256').update(`llama-server:${model}`).digest('hex').slice(0, 10)}`;
}

function remapMessageIds(messages: unknown): unknown {
  if (!Array.isArray(messages)) return messages;
  return messages.map((m) => {
    if (!m || typeof m !== 'object') return m;
    const msg = m as Json;
    const out: Json = { ...msg };
    if (typeof msg.tool_call_id === 'string') out.tool_call_id = templateCallId(msg.tool_call_id);
    if (Array.isArray(msg.tool_calls)) {
      out.tool_calls = msg.tool_calls.map((c) =>
        c && typeof c === 'object' && typeof (c as Json).id === 'string' ? { ...(c as Json), id: templateCallId((c as Json).id as string) } : c,
      );
    }
    return out;
  });
}

export type RequestResult = { ok: true; body: Body } | { ok: false; error: PortenError };

/**
 * The body llama-server gets, or the 400 porten answers without asking it:
 * - tools the model's template cannot show (llama-server would drop them silently) → 400 naming `tools`;
 * - a named `tool_choice` (llama-server reads only the string forms) → `required` over that one tool;
 * - tool call ids → 9 alphanumerics, the same for a call and its result (Mistral's template refuses others).
 */
export function normaliseRequest(path: string, body: Body, ctx: NormaliseContext): RequestResult {
  if (path !== '/v1/chat/completions') return { ok: true, body };
  const out: Body = { ...body };
  const tools = Array.isArray(body.tools) ? (body.tools as Json[]) : [];
  const choice = body.tool_choice;
  if (tools.length > 0 && choice !== 'none' && ctx.caps && ctx.caps.supports_tools === false) {
    return {
      ok: false,
      error: portenError(400, 'capability_not_supported', `The chat template of model '${ctx.model}' cannot express tools.`, 'tools'),
    };
  }
  if (choice && typeof choice === 'object') {
    const name = ((choice as Json).function as Json | undefined)?.name;
    const named = tools.filter((t) => (t.function as Json | undefined)?.name === name);
    if (named.length === 0)
      return { ok: false, error: portenError(400, 'invalid_request', `tool_choice names '${String(name)}', which is not in tools`, 'tool_choice') };
    out.tools = named;
    out.tool_choice = 'required';
  }
  if (Array.isArray(body.messages)) out.messages = remapMessageIds(body.messages);
  return { ok: true, body: out };
}

/** Per-response state: call ids stay the same across the chunks of one stream. */
export class ResponseNormaliser {
  private readonly ids = new Map<string, string>();
  private readonly fingerprint: string;

  constructor(
    private readonly path: string,
    ctx: NormaliseContext,
  ) {
    this.fingerprint = fingerprintOf(ctx.model);
  }

  /** A whole JSON answer (status and text) → what the client gets. Text that is not JSON passes as is. */
  json(status: number, text: string): { status: number; text: string } {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { status, text };
    }
    if (status >= 400) {
      const e =
        mapLlamaError(this.path, status, parsed) ??
        portenError(status >= 500 ? status : 400, status >= 500 ? 'internal' : 'invalid_request', `engine answered ${status}`);
      return { status: e.status, text: JSON.stringify(e.body) };
    }
    return { status, text: JSON.stringify(this.object(parsed as Json)) };
  }

  /** Whole SSE events (`data: …\n\n`, as the relay cuts them) → the same events in porten's shapes. */
  events(events: string): string {
    if (!events) return events;
    return events
      .split('\n\n')
      .map((e) => {
        if (!e.startsWith('data: {')) return e;
        let parsed: Json;
        try {
          parsed = JSON.parse(e.slice(6)) as Json;
        } catch {
          return e;
        }
        if (parsed.error) {
          // An error after the head: the stream's status is already 200, so it stays an event, in porten's shape.
          const mapped = mapLlamaError(this.path, 500, parsed);
          return `data: ${JSON.stringify(mapped?.body ?? parsed)}`;
        }
        return `data: ${JSON.stringify(this.object(parsed))}`;
      })
      .join('\n\n');
  }

  private callId(engineId: unknown, index: number): string {
    const key = typeof engineId === 'string' && engineId ? engineId : `#${index}`;
    let id = this.ids.get(key);
    if (!id) {
      id = newCallId();
      this.ids.set(key, id);
    }
    return id;
  }

  private calls(calls: unknown, streamed: boolean): unknown {
    if (!Array.isArray(calls)) return calls;
    return calls.map((c, i) => {
      if (!c || typeof c !== 'object') return c;
      const call = c as Json;
      const index = typeof call.index === 'number' ? call.index : i;
      // In a stream only a call's first delta carries its id.
      if (streamed && call.id === undefined) return call;
      return { ...call, id: this.callId(call.id, index) };
    });
  }

  /** One completion, chunk or embeddings object. */
  private object(o: Json): Json {
    const out: Json = { ...o };
    delete out.timings;
    if (o.object === 'list') {
      if (Array.isArray(o.data)) out.data = o.data.map((d, index) => (d && typeof d === 'object' ? { object: 'embedding', index, ...(d as Json) } : d));
      return out;
    }
    if ('system_fingerprint' in o) out.system_fingerprint = this.fingerprint;
    // llama-server names every id `chatcmpl-`; OpenAI's text completions are `cmpl-`.
    if (o.object === 'text_completion' && typeof o.id === 'string') out.id = o.id.replace(/^chatcmpl-/, 'cmpl-');
    if (Array.isArray(o.choices)) {
      out.choices = o.choices.map((c) => {
        if (!c || typeof c !== 'object') return c;
        const choice: Json = { ...(c as Json) };
        if (!('logprobs' in choice)) choice.logprobs = null;
        if (choice.message && typeof choice.message === 'object') {
          const m: Json = { ...(choice.message as Json) };
          if (Array.isArray(m.tool_calls) && m.tool_calls.length > 0) {
            m.tool_calls = this.calls(m.tool_calls, false);
            // OpenAI sends null content beside tool calls; llama-server sends "".
            if (m.content === '') m.content = null;
          }
          choice.message = m;
        }
        if (choice.delta && typeof choice.delta === 'object') {
          const d: Json = { ...(choice.delta as Json) };
          // The opening delta: OpenAI (and the builtin engine) send "" where llama-server sends null.
          if (d.content === null) d.content = '';
          if (Array.isArray(d.tool_calls)) d.tool_calls = this.calls(d.tool_calls, true);
          choice.delta = d;
        }
        return choice;
      });
    }
    return out;
  }
}
