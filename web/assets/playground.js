// The playground: pick a model, chat with streaming, watch a cold model warm up.
import { $, fill, h } from './lib/dom.js';
import { api, describeError } from './lib/api.js';
import { parseWarmingComment, sseParser } from './lib/sse.js';
import { parseQueuedComment, warmingBar } from './lib/warming.js';

const KEY_STORE = 'porten.apiKey';
const MODEL_STORE = 'porten.model';
const POLL_MS = 500;

const ui = {
  keyForm: $('#key-form'),
  keyInput: $('#api-key'),
  keyStatus: $('#key-status'),
  models: $('#models'),
  refresh: $('#refresh-models'),
  transcript: $('#transcript'),
  form: $('#chat-form'),
  prompt: $('#prompt'),
  send: $('#send'),
  stop: $('#stop'),
  clear: $('#clear'),
  status: $('#chat-status'),
};
const warm = warmingBar();
let models = [];
let history = [];
let inflight = null;

const key = () => sessionStorage.getItem(KEY_STORE) ?? '';
const selected = () => ui.models.querySelector('input[name=model]:checked')?.value ?? '';

async function loadModels() {
  if (!key()) return;
  const r = await api('/v1/models', { token: key() });
  if (!r.ok) {
    ui.keyStatus.textContent = describeError('GET /v1/models', r);
    ui.keyStatus.className = 'error';
    return;
  }
  ui.keyStatus.textContent = '';
  ui.keyStatus.className = 'status';
  models = r.data.data;
  renderModels();
}

function renderModels() {
  const want = selected() || sessionStorage.getItem(MODEL_STORE) || models.find((m) => m.capabilities.includes('chat'))?.id;
  fill(
    ui.models,
    h('legend', { class: 'sr-only' }, 'Pick a model'),
    models.length
      ? models.map((m) =>
          h(
            'label',
            { class: 'model', 'data-model': m.id },
            // The playground chats: models without the chat capability (embeddings) are shown but not selectable.
            h('input', {
              type: 'radio',
              name: 'model',
              value: m.id,
              checked: m.id === want && m.capabilities.includes('chat'),
              disabled: !m.capabilities.includes('chat'),
              onchange: () => sessionStorage.setItem(MODEL_STORE, m.id),
            }),
            h(
              'span',
              {},
              h('span', { class: 'name' }, m.id),
              ' ',
              h('span', { class: `badge state-${m.state}`, 'data-state': m.state }, m.state),
              h('br'),
              m.capabilities.map((c) => h('span', { class: 'badge' }, c)),
              h('span', { class: 'hint' }, ` ${m.vram_mb} MB · ${m.context_length} ctx`),
            ),
          ),
        )
      : h('p', { class: 'hint' }, 'No models are offered.'),
  );
}

function addMessage(role, text) {
  const body = h('span', { class: 'text' }, text);
  const li = h(
    'li',
    { class: `msg ${role}`, 'data-state': role === 'assistant' ? 'waiting' : 'done' },
    h('span', { class: 'who' }, role === 'user' ? 'You' : selected()),
    body,
  );
  ui.transcript.append(li);
  return { li, body };
}

/** The collapsible "Reasoning" block of an answer, made on its first reasoning delta (above the answer's text). */
function reasoningOf(answer) {
  if (!answer.reasoning) {
    answer.reasoning = h('span', { class: 'reasoning-text' });
    answer.li.insertBefore(h('details', { class: 'reasoning', open: '' }, h('summary', {}, 'Reasoning'), answer.reasoning), answer.body);
  }
  return answer.reasoning;
}

function abortableDelay(ms, signal) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/** Polls the public warming view until stopped; the bar shows every snapshot. */
function pollWarming(model, signal) {
  let stopped = false;
  void (async () => {
    while (!stopped && !signal.aborted) {
      const r = await api(`/public/v1/models/warming?model=${encodeURIComponent(model)}`, { signal });
      if (stopped) return;
      if (r.ok) {
        warm.update(r.data);
        if (r.data.ready) return;
      }
      await abortableDelay(POLL_MS, signal);
    }
  })().catch(() => undefined);
  return () => void (stopped = true);
}

class ChatError extends Error {}

/** Posts the conversation and streams the answer into `onDelta`; a 503 model_warming is retried after Retry-After. */
async function streamChat(model, messages, signal, onDelta) {
  for (;;) {
    const res = await fetch('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${key()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages, stream: true, max_tokens: 128 }),
      signal,
    });
    if (res.status === 429) {
      const body = await res.json().catch(() => null);
      if (body?.error?.code === 'queue_full') {
        // The model's queue is full: wait as told, then try to join again.
        const wait = Math.min(30, Math.max(1, Number(res.headers.get('retry-after')) || 2));
        ui.status.textContent = `${model}'s queue is full; retrying in ${wait} s.`;
        await abortableDelay(wait * 1000, signal);
        continue;
      }
      throw new ChatError(`429 ${body?.error?.code ?? ''}: ${body?.error?.message ?? res.statusText}`);
    }
    if (res.status === 503) {
      const body = await res.json().catch(() => null);
      if (body?.error?.code === 'model_warming') {
        const wait = Math.min(10, Math.max(1, Number(res.headers.get('retry-after')) || 2));
        ui.status.textContent = `${model} is still warming up; retrying in ${wait} s.`;
        await abortableDelay(wait * 1000, signal);
        continue;
      }
      throw new ChatError(body?.error?.message ?? `HTTP 503`);
    }
    if (!res.ok) {
      const body = await res.json().catch(() => null);
      throw new ChatError(`${res.status} ${body?.error?.code ?? ''}: ${body?.error?.message ?? res.statusText}`);
    }
    let text = '';
    let failure = null;
    const parser = sseParser({
      onComment: (c) => {
        const q = parseQueuedComment(c);
        if (q) warm.queue(q);
        else warm.update(parseWarmingComment(c));
      },
      onData: (data) => {
        if (data === '[DONE]') return;
        let chunk;
        try {
          chunk = JSON.parse(data);
        } catch {
          return;
        }
        if (chunk.error) failure = chunk.error.message ?? 'the stream reported an error';
        const delta = chunk.choices?.[0]?.delta;
        // Reasoning models stream their thinking apart from the answer (delta.reasoning_content).
        if (delta?.reasoning_content) onDelta({ reasoning: delta.reasoning_content });
        if (delta?.content) {
          text += delta.content;
          onDelta({ content: delta.content });
        }
      },
    });
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.push(value);
    }
    parser.end();
    if (failure) throw new ChatError(failure);
    return text;
  }
}

async function send(prompt) {
  const model = selected();
  if (!model) {
    ui.status.textContent = 'Pick a model first.';
    return;
  }
  history.push({ role: 'user', content: prompt });
  addMessage('user', prompt);
  const answer = addMessage('assistant', '');
  const controller = new AbortController();
  inflight = controller;
  ui.send.disabled = true;
  ui.stop.disabled = false;
  ui.status.textContent = '';
  const cold = models.find((m) => m.id === model)?.state !== 'ready';
  let stopPoll = () => undefined;
  if (cold) {
    warm.start(model);
    stopPoll = pollWarming(model, controller.signal);
  } else {
    warm.hide();
  }
  answer.li.dataset.state = 'streaming';
  try {
    const text = await streamChat(model, history, controller.signal, (delta) => {
      if (cold) {
        stopPoll();
        warm.ready();
      }
      ui.status.textContent = '';
      if (delta.reasoning) reasoningOf(answer).textContent += delta.reasoning;
      if (delta.content) answer.body.textContent += delta.content;
    });
    history.push({ role: 'assistant', content: text });
    answer.li.dataset.state = 'done';
    if (cold) warm.ready();
  } catch (err) {
    if (controller.signal.aborted) {
      answer.li.dataset.state = 'stopped';
      warm.hide();
      answer.body.append(h('em', {}, ' [stopped]'));
    } else {
      answer.li.dataset.state = 'error';
      answer.body.append(h('span', { class: 'error' }, err instanceof ChatError ? err.message : `Request failed: ${err?.message ?? err}`));
    }
    history.pop();
  } finally {
    stopPoll();
    inflight = null;
    ui.send.disabled = false;
    ui.stop.disabled = true;
    void loadModels();
  }
}

ui.keyForm.addEventListener('submit', (e) => {
  e.preventDefault();
  sessionStorage.setItem(KEY_STORE, ui.keyInput.value.trim());
  void loadModels();
});
ui.refresh.addEventListener('click', () => void loadModels());
ui.form.addEventListener('submit', (e) => {
  e.preventDefault();
  const prompt = ui.prompt.value.trim();
  if (!prompt || inflight) return;
  ui.prompt.value = '';
  void send(prompt);
});
ui.prompt.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) ui.form.requestSubmit();
});
ui.stop.addEventListener('click', () => inflight?.abort());
ui.clear.addEventListener('click', () => {
  inflight?.abort();
  history = [];
  ui.transcript.replaceChildren();
  warm.hide();
});

ui.keyInput.value = key();
void loadModels();
