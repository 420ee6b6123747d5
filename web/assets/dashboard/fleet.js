import { fmtMb, fmtTime, h } from '../lib/dom.js';

/** Fleet panel: one card per node with online state, placement fields, memory against budget and loaded models. */
export async function loadFleet(body, ctx) {
  const r = await ctx.api('/admin/v1/nodes');
  if (!r.ok) return ctx.fail(body, 'GET /admin/v1/nodes', r);
  const nodes = r.data.data;
  if (!nodes.length) return body.replaceChildren(h('p', { class: 'hint' }, 'No node has connected yet. Start one with porten run.'));
  const online = nodes.filter((n) => n.online).length;
  body.replaceChildren(h('p', { class: 'hint' }, `${online} of ${nodes.length} node(s) online.`), h('div', { class: 'nodes' }, nodes.map(nodeCard)));
}

/** Backend, GPUs (with their memory when the node knows it), driver and where the budget came from; nothing for agents that do not say. */
function hardwareLine(n) {
  const hw = n.hardware;
  if (!hw) return null;
  const gpus = hw.gpus.length ? hw.gpus.map((g) => (g.vram_mb ? `${g.name} (${fmtMb(g.vram_mb)})` : g.name)).join(', ') : 'no GPU';
  const parts = [hw.backend ?? 'backend unknown', gpus, hw.driver ? `driver ${hw.driver}` : null, hw.budget_source ? `budget from ${hw.budget_source}` : null];
  return h('p', { class: 'hint', 'data-hardware': hw.backend ?? 'unknown' }, parts.filter(Boolean).join(' · '));
}

function nodeCard(n) {
  const used = n.vram_used_mb ?? 0;
  const pct = n.vram_budget_mb > 0 ? Math.min(100, (100 * used) / n.vram_budget_mb) : 0;
  return h(
    'article',
    { class: 'node', 'data-node': n.id, 'aria-labelledby': `node-${n.id}` },
    h(
      'div',
      { class: 'row spread' },
      h('h3', { id: `node-${n.id}` }, n.id),
      h('span', { class: `badge ${n.online ? 'online' : 'offline'}` }, n.online ? 'online' : 'offline'),
    ),
    h(
      'p',
      { class: 'hint' },
      [
        n.region ? `region ${n.region}` : 'no region',
        n.trust ? `trust ${n.trust}` : null,
        n.owner ? `owner ${n.owner}` : null,
        // Operator caps (PATCH /admin/v1/nodes/{id}) and reports the Hub refused to believe: signs of a node to watch.
        n.caps?.max_budget_mb ? `budget cap ${fmtMb(n.caps.max_budget_mb)}` : null,
        n.caps?.max_concurrency ? `slot cap ${n.caps.max_concurrency}` : null,
        n.ignored_reports ? `${n.ignored_reports} ignored reports` : null,
        `agent ${n.agent_version}`,
        `engines ${n.engines.join(', ')}`,
      ]
        .filter(Boolean)
        .join(' · '),
    ),
    h('p', { class: 'hint' }, `In flight ${n.inflight ?? 0} / ${n.max_concurrency} · last seen ${fmtTime(n.last_seen)}`),
    hardwareLine(n),
    h('div', { class: 'row spread' }, h('span', { id: `mem-${n.id}` }, 'Memory'), h('span', { class: 'hint' }, `${fmtMb(used)} of ${fmtMb(n.vram_budget_mb)}`)),
    h(
      'div',
      {
        class: 'meter',
        role: 'meter',
        'aria-labelledby': `mem-${n.id}`,
        'aria-valuemin': 0,
        'aria-valuemax': n.vram_budget_mb,
        'aria-valuenow': used,
        'aria-valuetext': `${fmtMb(used)} of ${fmtMb(n.vram_budget_mb)}`,
      },
      h('div', { style: `width:${pct.toFixed(1)}%` }),
    ),
    n.models.length
      ? h(
          'ul',
          { 'aria-label': `Models on ${n.id}` },
          n.models.map((m) =>
            h(
              'li',
              { 'data-model': m.model, 'data-phase': m.phase },
              h('strong', {}, m.model),
              ' ',
              h('span', { class: `badge phase-${m.phase}` }, m.phase),
              m.phase === 'downloading' && m.total_bytes ? ` ${Math.round((100 * m.done_bytes) / m.total_bytes)}%` : '',
              m.vram_mb ? ` · ${fmtMb(m.vram_mb)}` : '',
              m.inflight ? ` · ${m.inflight} in flight` : '',
            ),
          ),
        )
      : h('p', { class: 'hint' }, 'No models loaded.'),
  );
}
