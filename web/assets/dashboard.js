// The operator dashboard: panels fetched from the admin API, refreshed when the Hub's live feed says their data changed.
import { $, h } from './lib/dom.js';
import { api, describeError } from './lib/api.js';
import { connectLive } from './lib/live.js';
import { loadFleet } from './dashboard/fleet.js';
import { loadCatalog } from './dashboard/catalog.js';
import { loadDemand } from './dashboard/demand.js';
import { loadDecisions } from './dashboard/decisions.js';
import { loadEnrollments } from './dashboard/enrollments.js';
import { loadKeys } from './dashboard/keys.js';
import { loadUsage } from './dashboard/usage.js';

const TOKEN_STORE = 'porten.adminToken';

const PANELS = {
  fleet: loadFleet,
  catalog: loadCatalog,
  demand: loadDemand,
  decisions: loadDecisions,
  enrollments: (body, ctx) => loadEnrollments(body, ctx, enrollCode()),
  keys: loadKeys,
  usage: loadUsage,
};
/** Which panels show which of the Hub's change topics (src/hub/live-feed.ts). */
const TOPICS = {
  nodes: ['fleet'],
  models: ['catalog', 'fleet'],
  decisions: ['decisions'],
  demand: ['demand'],
  keys: ['keys'],
  enrollments: ['enrollments'],
  usage: ['usage'],
  all: Object.keys(PANELS),
};

const ui = { form: $('#token-form'), input: $('#admin-token'), forget: $('#forget'), status: $('#token-status'), live: $('#live') };
const token = () => sessionStorage.getItem(TOKEN_STORE) ?? '';
/** The user code of `#enroll=CODE`, the link a node agent prints at `porten login`. */
const enrollCode = () => {
  const m = /(?:^|[#&])enroll=([^&]+)/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : null;
};

const ctx = {
  api: (path, opts = {}) => api(path, { ...opts, token: token() }),
  /** Shows an API failure in `el` (replacing its content, or appended when `inline`). */
  fail(el, what, r, inline = false) {
    const p = h('p', { class: 'error', 'data-error': r.code }, describeError(what, r));
    if (inline) el.append(p);
    else el.replaceChildren(p);
  },
  refresh,
};

// One load per panel at a time; a change notice during a load schedules exactly one more.
const running = new Map();
function refresh(name) {
  if (!token()) return;
  const state = running.get(name);
  if (state) {
    state.again = true;
    return;
  }
  const entry = { again: false };
  running.set(name, entry);
  const section = document.getElementById(name);
  const body = section.querySelector('.body');
  section.setAttribute('aria-busy', 'true');
  void (async () => {
    do {
      entry.again = false;
      try {
        await PANELS[name](body, ctx);
      } catch (err) {
        body.replaceChildren(h('p', { class: 'error' }, `This panel failed to render: ${err?.message ?? err}`));
      }
    } while (entry.again);
    running.delete(name);
    section.setAttribute('aria-busy', 'false');
    section.dataset.loaded = 'true';
  })();
}

let stopLive = () => undefined;
function connect() {
  stopLive();
  if (!token()) return;
  ui.input.value = token();
  for (const name of Object.keys(PANELS)) refresh(name);
  stopLive = connectLive({
    token: token(),
    onChange: (topics) => new Set(topics.flatMap((t) => TOPICS[t] ?? [])).forEach(refresh),
    onState: (state, detail) => {
      ui.live.dataset.state = state;
      ui.live.textContent = state === 'live' ? 'live' : state === 'reconnecting' ? 'reconnecting…' : 'offline';
      ui.status.textContent = state === 'off' && detail ? `Live updates are off: ${detail}` : '';
    },
  });
}

ui.form.addEventListener('submit', (e) => {
  e.preventDefault();
  sessionStorage.setItem(TOKEN_STORE, ui.input.value.trim());
  connect();
});
ui.forget.addEventListener('click', () => {
  stopLive();
  sessionStorage.removeItem(TOKEN_STORE);
  ui.input.value = '';
  for (const name of Object.keys(PANELS)) document.querySelector(`#${name} .body`).replaceChildren();
});
window.addEventListener('hashchange', () => refresh('enrollments'));

if (!token()) {
  ui.status.textContent = enrollCode() ? `Enter the admin token to review enrollment ${enrollCode()}.` : 'Enter the admin token to load the dashboard.';
  ui.input.focus();
}
connect();
