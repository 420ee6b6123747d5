import { fmtTime, h, table } from '../lib/dom.js';
import { TRUST_CLASSES } from './enrollments.js';

const list = (v) => (v?.length ? v.join(', ') : 'any');
const num = (v) => (v === null || v === undefined ? '—' : String(v));

// The secret of the last created key: the API returns it once, and live refreshes must not wipe it before it is copied.
let created = null;

/** API keys: list with restrictions, create (the secret is shown once), revoke. */
export async function loadKeys(body, ctx) {
  const r = await ctx.api('/admin/v1/keys');
  const parts = [];
  if (created) {
    parts.push(
      h(
        'div',
        { class: 'secret', role: 'status' },
        `New key “${created.name}”: `,
        h('code', { 'data-secret': '' }, created.key),
        ' — copy it now; it is not shown again. ',
        h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            onclick: () => {
              created = null;
              void loadKeys(body, ctx);
            },
          },
          'Done',
        ),
      ),
    );
  }
  if (!r.ok) {
    body.replaceChildren(...parts);
    return ctx.fail(body, 'GET /admin/v1/keys', r, true);
  }
  parts.push(
    table(
      ['Name', 'Prefix', 'Created', 'Models', 'Regions', 'Owner', 'Min trust', 'RPM / TPM', 'In flight', 'Quota', 'Status', ''],
      r.data.data.map((k) =>
        h(
          'tr',
          { 'data-key': k.id },
          h('th', { scope: 'row' }, k.name),
          h('td', {}, h('code', {}, k.prefix)),
          h('td', {}, fmtTime(k.created)),
          h('td', {}, list(k.models)),
          h('td', {}, list(k.regions)),
          h('td', {}, k.owner ?? '—'),
          h('td', {}, k.min_trust ?? '—'),
          h('td', {}, `${num(k.rpm)} / ${num(k.tpm)}`),
          h('td', {}, num(k.max_inflight)),
          h('td', {}, k.quota_tokens ? `${k.quota_tokens} per ${k.quota_period ?? 'period'}` : '—'),
          h('td', {}, k.revoked_at ? `revoked ${fmtTime(k.revoked_at)}` : 'active'),
          h(
            'td',
            {},
            k.revoked_at
              ? ''
              : h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke ${k.name}`, onclick: () => revoke(body, ctx, k) }, 'Revoke'),
          ),
        ),
      ),
    ),
  );
  parts.push(createForm(body, ctx), h('div', { class: 'status', role: 'status' }));
  body.replaceChildren(...parts);
}

function createForm(body, ctx) {
  const field = (label, name, attrs = {}) => h('label', {}, label, h('input', { name, type: 'text', ...attrs }));
  const form = h(
    'form',
    { class: 'form-grid', 'aria-label': 'Create an API key' },
    field('Name', 'name', { required: true }),
    field('Models (comma-separated)', 'models'),
    field('Regions (comma-separated)', 'regions'),
    field('Owner', 'owner'),
    h(
      'label',
      {},
      'Minimum trust',
      h(
        'select',
        { name: 'min_trust' },
        ['', ...TRUST_CLASSES].map((t) => h('option', { value: t }, t || 'any')),
      ),
    ),
    field('Requests per minute', 'rpm', { type: 'number', min: 1 }),
    field('Tokens per minute', 'tpm', { type: 'number', min: 1 }),
    field('Most requests in flight', 'max_inflight', { type: 'number', min: 1 }),
    field('Token quota', 'quota_tokens', { type: 'number', min: 1 }),
    h(
      'label',
      {},
      'Quota period',
      h(
        'select',
        { name: 'quota_period' },
        ['', 'day', 'month'].map((p) => h('option', { value: p }, p || '—')),
      ),
    ),
    h('button', { type: 'submit' }, 'Create key'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const payload = { name: String(f.get('name')).trim() };
    for (const k of ['models', 'regions']) {
      const v = String(f.get(k) ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (v.length) payload[k] = v;
    }
    for (const k of ['owner', 'min_trust', 'quota_period']) if (String(f.get(k) ?? '').trim()) payload[k] = String(f.get(k)).trim();
    for (const k of ['rpm', 'tpm', 'max_inflight', 'quota_tokens']) if (String(f.get(k) ?? '') !== '') payload[k] = Number(f.get(k));
    const r = await ctx.api('/admin/v1/keys', { method: 'POST', body: payload });
    if (!r.ok) return ctx.fail(body.querySelector('.status'), 'POST /admin/v1/keys', r, true);
    created = r.data;
    await loadKeys(body, ctx);
  });
  return form;
}

async function revoke(body, ctx, k) {
  const r = await ctx.api(`/admin/v1/keys/${encodeURIComponent(k.id)}`, { method: 'DELETE' });
  if (!r.ok) return ctx.fail(body.querySelector('.status'), `DELETE /admin/v1/keys/${k.id}`, r, true);
  await loadKeys(body, ctx);
  body.querySelector('.status').textContent = `Revoked ${k.name}.`;
}
