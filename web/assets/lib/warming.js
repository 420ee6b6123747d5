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
    detail.textContent = parts.join(' · ');
  }

  return {
    /** Starts a fresh load display. */
    start(model) {
      shown = { model, phase: 'cold', pct: 0 };
      render(shown);
    },
    /** Applies a (possibly partial, possibly stale) warming view. */
    update(v) {
      if (!v || !v.phase) return;
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
      this.update({ phase: 'ready', pct: 100, eta_s: 0 });
    },
    hide() {
      box.hidden = true;
    },
  };
}
