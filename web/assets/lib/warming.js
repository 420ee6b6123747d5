import { $ } from './dom.js';

const LABELS = {
  cold: 'Waiting for a node to start loading',
  downloading: 'Downloading weights',
  loading: 'Loading into memory',
  ready: 'Ready',
  failed: 'Loading failed',
};
const RANK = { cold: 0, downloading: 1, loading: 2, ready: 3 };

/**
 * The warm-up progress bar (#warm). Two sources feed it (polling
 * /public/v1/models/warming and the stream's `: warming …` comments), which
 * can arrive out of order, so it never moves backwards within a load.
 */
export function warmingBar(root = document) {
  const box = $('#warm', root);
  const bar = $('#warm-bar', root);
  const fillEl = $('.fill', bar);
  const label = $('#warm-label', root);
  const detail = $('#warm-detail', root);
  let shown = { phase: 'cold', pct: 0 };
  // This request's place in the model's queue, from the stream's `: queued …` comments; null when not queued.
  let place = null;

  function render(v) {
    const pct = Math.max(0, Math.min(100, Math.round(v.pct ?? 0)));
    box.hidden = false;
    box.dataset.phase = v.phase;
    bar.setAttribute('aria-valuenow', String(pct));
    bar.setAttribute('aria-valuetext', `${LABELS[v.phase] ?? v.phase}, ${pct}%`);
    fillEl.style.width = `${pct}%`;
    label.textContent = `${v.model ? `${v.model}: ` : ''}${LABELS[v.phase] ?? v.phase}`;
    const parts = [`${pct}%`];
    if (v.phase === 'downloading' && v.total_mb) parts.push(`${v.done_mb ?? 0} / ${v.total_mb} MB`);
    if (v.phase === 'downloading' && v.eta_s !== null && v.eta_s !== undefined) parts.push(`about ${Math.max(1, Math.round(v.eta_s))} s left`);
    if (v.phase === 'failed' && v.error) parts.push(v.error);
    if (place && v.phase !== 'ready' && v.phase !== 'failed') parts.push(`queued: ${ordinal(place.position)} of ${place.length}`);
    box.dataset.queued = place && v.phase !== 'ready' ? String(place.position) : '';
    detail.textContent = parts.join(' · ');
  }

  return {
    /** Starts a fresh load display. */
    start(model) {
      shown = { model, phase: 'cold', pct: 0 };
      place = null;
      render(shown);
    },
    /** Shows this request's place in the queue (`{position, length, max}`), or clears it with null. */
    queue(q) {
      place = q;
      render(shown);
    },
    /** Applies a (possibly partial, possibly stale) warming view. */
    update(v) {
      if (!v?.phase) return;
      const next = { ...shown, ...v };
      if (v.phase === 'failed') {
        shown = next;
      } else {
        const back = (RANK[v.phase] ?? 0) < (RANK[shown.phase] ?? 0);
        const sameButLower = v.phase === shown.phase && (v.pct ?? 0) < (shown.pct ?? 0);
        if (back || sameButLower) return;
        shown = next;
      }
      render(shown);
    },
    ready() {
      place = null;
      this.update({ phase: 'ready', pct: 100, eta_s: 0 });
    },
    hide() {
      box.hidden = true;
    },
  };
}

function ordinal(n) {
  const tail = n % 100 >= 11 && n % 100 <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' }[n % 10] ?? 'th');
  return `${n}${tail}`;
}

/**
 * Reads the edge's queue comment (`queued 3/5 max 64`: this request is 3rd of the 5
 * waiting for the model, at most 64 may wait) into `{position, length, max}`, or null
 * for any other comment.
 */
export function parseQueuedComment(text) {
  const m = /^queued\s+(\d+)\/(\d+)(?:\s+max\s+(\d+))?/.exec(text);
  if (!m) return null;
  return { position: Number(m[1]), length: Number(m[2]), max: m[3] === undefined ? null : Number(m[3]) };
}
