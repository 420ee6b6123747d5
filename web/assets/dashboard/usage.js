import { h, table } from '../lib/dom.js';

const GROUPS = { key: 'key_id', node: 'node_id', model: 'model' };

/** Usage: requests and tokens per key, node or model, by hour or day. */
export async function loadUsage(body, ctx) {
  let form = body.querySelector('form');
  if (!form) {
    form = h(
      'form',
      { class: 'row', 'aria-label': 'Usage grouping' },
      h(
        'label',
        {},
        'Group by ',
        h(
          'select',
          { name: 'group_by' },
          Object.keys(GROUPS).map((g) => h('option', { value: g }, g)),
        ),
      ),
      h(
        'label',
        {},
        'Bucket ',
        h(
          'select',
          { name: 'bucket' },
          ['hour', 'day'].map((b) => h('option', { value: b }, b)),
        ),
      ),
    );
    form.addEventListener('change', () => void loadUsage(body, ctx));
    body.replaceChildren(form, h('div', { class: 'result' }));
  }
  const f = new FormData(form);
  const group = String(f.get('group_by'));
  const path = `/admin/v1/usage?group_by=${group}&bucket=${f.get('bucket')}`;
  const out = body.querySelector('.result');
  const r = await ctx.api(path);
  if (!r.ok) return ctx.fail(out, `GET ${path}`, r);
  const rows = r.data.data;
  out.replaceChildren(
    rows.length
      ? table(
          ['Bucket', group, 'Requests', 'Prompt tokens', 'Completion tokens'],
          rows.map((u) =>
            h(
              'tr',
              {},
              h('td', {}, String(u.bucket)),
              h('td', {}, String(u[GROUPS[group]] ?? '—')),
              h('td', {}, String(u.requests)),
              h('td', {}, String(u.prompt_tokens)),
              h('td', {}, String(u.completion_tokens)),
            ),
          ),
        )
      : h('p', { class: 'hint' }, 'No usage recorded yet.'),
  );
}
