// A dependency-free SVG line chart of requests per minute, one line per model.

const NS = 'http://www.w3.org/2000/svg';
// Distinguishable on white with ≥ 3:1 contrast (graphics), colour-blind friendly order.
export const COLOURS = ['#1d4ed8', '#b45309', '#047857', '#be123c', '#6d28d9', '#0e7490', '#4d7c0f', '#9f1239'];

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

/**
 * @param {Array<{model: string, minute: number, served: number, unmet: number}>} rows
 * @param {number} minutes window length
 * @param {number} nowMinute the current minute (floor(ms / 60000))
 * @returns {{svg: SVGElement, models: string[]}}
 */
export function demandChart(rows, minutes, nowMinute) {
  const W = 600,
    H = 180,
    L = 34,
    B = 22,
    T = 8,
    R = 8;
  const first = nowMinute - minutes + 1;
  const models = [...new Set(rows.map((r) => r.model))].sort();
  const series = models.map((m) => {
    const ys = new Array(minutes).fill(0);
    for (const r of rows) if (r.model === m && r.minute >= first && r.minute <= nowMinute) ys[r.minute - first] += r.served + r.unmet;
    return ys;
  });
  const max = Math.max(1, ...series.flat());
  const x = (i) => L + (i * (W - L - R)) / Math.max(1, minutes - 1);
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const total = rows.reduce((n, r) => n + r.served + r.unmet, 0);
  const svg = s('svg', {
    viewBox: `0 0 ${W} ${H}`,
    role: 'img',
    'aria-label': `Requests per minute over the last ${minutes} minutes: ${total} in all, across ${models.length} model(s).`,
  });
  svg.append(s('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#6b7280' }));
  svg.append(s('line', { x1: L, y1: T, x2: L, y2: H - B, stroke: '#6b7280' }));
  svg.append(s('text', { x: L - 4, y: T + 10, 'text-anchor': 'end', 'font-size': 11, fill: '#374151' }, String(max)));
  svg.append(s('text', { x: L - 4, y: H - B, 'text-anchor': 'end', 'font-size': 11, fill: '#374151' }, '0'));
  svg.append(s('text', { x: L, y: H - 6, 'font-size': 11, fill: '#374151' }, `−${minutes} min`));
  svg.append(s('text', { x: W - R, y: H - 6, 'text-anchor': 'end', 'font-size': 11, fill: '#374151' }, 'now'));
  series.forEach((ys, k) => {
    const points = ys.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    svg.append(s('polyline', { points, fill: 'none', stroke: COLOURS[k % COLOURS.length], 'stroke-width': 2, 'data-model': models[k] }));
  });
  return { svg, models };
}
