import { h, table } from '../lib/dom.js';

/** Catalog panel: every entry, enabled or not, with an enable/disable toggle (PATCH /admin/v1/models/{id}). */
export async function loadCatalog(body, ctx) {
  const r = await ctx.api('/admin/v1/models');
  if (!r.ok) return ctx.fail(body, 'GET /admin/v1/models', r);
  const rows = r.data.data.map((m) =>
    h(
      'tr',
      { 'data-model': m.id },
      h('th', { scope: 'row' }, m.id),
      h('td', {}, h('span', { class: `badge state-${m.state}` }, m.state)),
      h(
        'td',
        {},
        m.capabilities.map((c) => h('span', { class: 'badge' }, c)),
      ),
      h('td', {}, `${m.vram_mb} MB`),
      h('td', {}, String(m.context_length)),
      h('td', {}, m.engine),
      h(
        'td',
        {},
        h(
          'div',
          { class: 'row' },
          h('span', { class: `badge ${m.enabled ? 'online' : 'offline'}` }, m.enabled ? 'offered' : 'disabled'),
          h(
            'button',
            {
              type: 'button',
              class: m.enabled ? 'danger' : '',
              'data-enabled': String(m.enabled),
              'aria-label': `${m.enabled ? 'Disable' : 'Enable'} ${m.id}`,
              onclick: (e) => toggle(e.currentTarget, m, body, ctx),
            },
            m.enabled ? 'Disable' : 'Enable',
          ),
        ),
      ),
    ),
  );
  body.replaceChildren(
    table(['Model', 'State', 'Capabilities', 'Footprint', 'Context', 'Engine', 'On /v1/models'], rows),
    h('div', { class: 'status', role: 'status' }),
  );
}

async function toggle(button, m, body, ctx) {
  button.disabled = true;
  const r = await ctx.api(`/admin/v1/models/${encodeURIComponent(m.id)}`, { method: 'PATCH', body: { enabled: !m.enabled } });
  const status = body.querySelector('.status');
  if (!r.ok) {
    button.disabled = false;
    return ctx.fail(status, `PATCH /admin/v1/models/${m.id}`, r, true);
  }
  status.textContent = `${m.id} ${r.data.enabled ? 'enabled: it is offered on /v1/models' : 'disabled: it no longer appears on /v1/models'}.`;
  await loadCatalog(body, ctx);
  body.querySelector(`tr[data-model="${CSS.escape(m.id)}"] button`)?.focus();
  body.querySelector('.status').textContent = status.textContent;
}
