import { fmtTime, h, table } from '../lib/dom.js';

/** Planner panel: the newest decisions with the rule, the outcome and the planner's reason. */
export async function loadDecisions(body, ctx) {
  const r = await ctx.api('/admin/v1/planner/decisions?limit=50');
  if (!r.ok) return ctx.fail(body, 'GET /admin/v1/planner/decisions', r);
  const rows = r.data.data;
  if (!rows.length) return body.replaceChildren(h('p', { class: 'hint' }, 'The planner has not decided anything yet.'));
  body.replaceChildren(
    table(
      ['Time', 'Rule', 'Outcome', 'Model', 'Node', 'Reason'],
      rows.map((d) =>
        h(
          'tr',
          {},
          h('td', {}, fmtTime(d.at)),
          h('td', {}, d.rule),
          h('td', {}, d.outcome),
          h('td', {}, d.model),
          h('td', {}, d.node ?? '—'),
          h('td', {}, d.reason),
        ),
      ),
    ),
  );
}
