import { fmtTime, h, table } from '../lib/dom.js';

// Mirrors TRUST_CLASSES in src/tenancy/trust.ts (the API validates; this only offers the choices).
export const TRUST_CLASSES = ['community', 'verified', 'trusted', 'confidential'];
let shown = '';

/**
 * Pending enrollments (device-code logins of new node agents): approve with a
 * region and trust class, or deny. `focusCode` (from `#enroll=CODE`, the link
 * agents print) opens that enrollment's approve form.
 */
export async function loadEnrollments(body, ctx, focusCode) {
  const r = await ctx.api('/admin/v1/enrollments');
  if (!r.ok) {
    ctx.fail(body, 'GET /admin/v1/enrollments', r);
    if (focusCode) body.prepend(h('p', {}, `Enrollment ${focusCode} was requested, but the enrollment list is unavailable:`));
    return;
  }
  const list = r.data.data;
  const pending = list.filter((e) => e.status === 'pending');
  // Agents poll their enrollment, which notifies this panel: skip identical lists so an open form is not reset.
  const signature = JSON.stringify([focusCode, pending.map((e) => [e.user_code, e.expires_at])]);
  if (signature === shown && body.querySelector('table, .hint')) return;
  shown = signature;
  const open = body.querySelector('.form-slot form');
  const focused = open?.contains(document.activeElement) ? document.activeElement : null;
  const parts = [];
  if (focusCode && !list.some((e) => e.user_code === focusCode))
    parts.push(h('p', { class: 'error' }, `No enrollment with code ${focusCode}: it may have expired. Run porten login again.`));
  parts.push(
    pending.length
      ? table(
          ['Code', 'Host', 'Requested', 'Expires', 'Actions'],
          pending.map((e) =>
            h(
              'tr',
              { 'data-code': e.user_code },
              h('th', { scope: 'row' }, h('code', {}, e.user_code)),
              h('td', {}, e.hostname ?? '—'),
              h('td', {}, fmtTime(e.created)),
              h('td', {}, fmtTime(e.expires_at)),
              h(
                'td',
                {},
                h(
                  'div',
                  { class: 'row' },
                  h('button', { type: 'button', 'aria-label': `Approve ${e.user_code}`, onclick: () => openForm(body, ctx, e) }, 'Approve…'),
                  h('button', { type: 'button', class: 'danger', 'aria-label': `Deny ${e.user_code}`, onclick: () => deny(body, ctx, e) }, 'Deny'),
                ),
              ),
            ),
          ),
        )
      : h('p', { class: 'hint' }, 'No pending enrollments.'),
  );
  parts.push(h('div', { class: 'form-slot' }), h('div', { class: 'status', role: 'status' }));
  body.replaceChildren(...parts);
  if (open && pending.some((e) => e.user_code === open.dataset.code)) {
    body.querySelector('.form-slot').replaceChildren(open);
    focused?.focus();
    return;
  }
  const wanted = pending.find((e) => e.user_code === focusCode);
  if (wanted) openForm(body, ctx, wanted);
}

function openForm(body, ctx, e) {
  const slot = body.querySelector('.form-slot');
  const field = (label, input) => h('label', {}, label, input);
  const form = h(
    'form',
    { class: 'form-grid', 'data-code': e.user_code, 'aria-label': `Approve enrollment ${e.user_code}` },
    field('Node id (optional)', h('input', { name: 'node_id', type: 'text', value: e.hostname ?? '' })),
    field('Owner (optional)', h('input', { name: 'owner', type: 'text' })),
    field('Region', h('input', { name: 'region', type: 'text', required: true, placeholder: 'eu-west' })),
    field(
      'Trust class',
      h(
        'select',
        { name: 'trust', required: true },
        TRUST_CLASSES.map((t) => h('option', { value: t }, t)),
      ),
    ),
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'submit' }, `Approve ${e.user_code}`),
      h('button', { type: 'button', class: 'secondary', onclick: () => slot.replaceChildren() }, 'Cancel'),
    ),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const payload = { region: String(f.get('region')).trim(), trust: String(f.get('trust')).trim() };
    for (const k of ['node_id', 'owner']) if (String(f.get(k) ?? '').trim()) payload[k] = String(f.get(k)).trim();
    const r = await ctx.api(`/admin/v1/enrollments/${encodeURIComponent(e.user_code)}/approve`, { method: 'POST', body: payload });
    const status = body.querySelector('.status');
    if (!r.ok) return ctx.fail(status, `Approving ${e.user_code}`, r, true);
    if (location.hash.includes(e.user_code)) history.replaceState(null, '', location.pathname);
    await loadEnrollments(body, ctx);
    body.querySelector('.status').textContent = `Approved ${e.user_code}; the agent finishes its login on its own.`;
    ctx.refresh('fleet');
  });
  slot.replaceChildren(form);
  form.querySelector('input[name=region]').focus();
}

async function deny(body, ctx, e) {
  const r = await ctx.api(`/admin/v1/enrollments/${encodeURIComponent(e.user_code)}/deny`, { method: 'POST', body: {} });
  if (!r.ok) return ctx.fail(body.querySelector('.status'), `Denying ${e.user_code}`, r, true);
  await loadEnrollments(body, ctx);
  body.querySelector('.status').textContent = `Denied ${e.user_code}.`;
}
