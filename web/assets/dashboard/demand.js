import { h, table } from '../lib/dom.js';
import { COLOURS, demandChart } from '../lib/chart.js';

const MINUTES = 60;

/** Demand panel: requests per model per minute (served + unmet) as a chart, with the totals as a table. */
export async function loadDemand(body, ctx) {
  const r = await ctx.api(`/admin/v1/demand?minutes=${MINUTES}`);
  if (!r.ok) return ctx.fail(body, 'GET /admin/v1/demand', r);
  const rows = r.data.data;
  if (!rows.length) return body.replaceChildren(h('p', { class: 'hint' }, 'No requests in the last hour.'));
  const { svg, models } = demandChart(rows, MINUTES, Math.floor(Date.now() / 60_000));
  const totals = models.map((m) =>
    rows.filter((x) => x.model === m).reduce((t, x) => ({ served: t.served + x.served, unmet: t.unmet + x.unmet }), { served: 0, unmet: 0 }),
  );
  body.replaceChildren(
    h('div', { class: 'chart' }, svg),
    h(
      'div',
      { class: 'legend', 'aria-hidden': 'true' },
      models.map((m, k) => h('span', {}, h('span', { class: 'swatch', style: `background:${COLOURS[k % COLOURS.length]}` }), m)),
    ),
    table(
      ['Model', 'Served', 'Unmet (had to wait for a load)'],
      models.map((m, k) =>
        h('tr', { 'data-model': m }, h('th', { scope: 'row' }, m), h('td', {}, String(totals[k].served)), h('td', {}, String(totals[k].unmet))),
      ),
    ),
  );
}
