import { busySpellMs } from './arrivals';
import { act, addLive, type PlanContext } from './context';
import { bestNode, describeRejections } from './placement';
import { describeServe } from './serve-time';

/**
 * Scale out, one replica at a time per model (nothing happens while a replica of it is
 * still downloading or loading), on the node that would serve soonest, without eviction:
 *  - at once when the requests waiting behind its ready replicas reach
 *    scaleOutQueuePerSlot × their engine slots and that node serves within
 *    scaleOutMaxServeMs (a queue a slow download would outlast is left to drain);
 *  - or when every ready replica has had more requests than its node's concurrency
 *    (`saturatedSince`, kept by the Hub) for scaleOutAfterMs, on any node that serves
 *    within scaleOutMaxServeMs or before the model's busy spells usually end (its
 *    history's busy minutes per burst): a sibling that arrives after the burst is over
 *    only holds memory.
 * Surplus replicas go by scale_in once idle (keep-alive.ts), or as free demand-eviction
 * victims (see evictionLoss).
 */
export function scaleOut(ctx: PlanContext): void {
  const { now, config } = ctx;
  const waiting = new Map<string, number>();
  for (const p of ctx.pending) waiting.set(p.model, (waiting.get(p.model) ?? 0) + p.count);
  for (const view of ctx.models.values()) {
    if (!view.model.enabled || view.hosts.length === 0 || view.hosts.length >= config.maxReplicas) continue;
    let ready = 0;
    let saturated = 0;
    let starting = false;
    let slots = 0;
    let queued = waiting.get(view.model.id) ?? 0;
    for (const slot of view.hosts) {
      if (!slot.node.online) continue;
      const r = slot.live.find((x) => x.model === view.model.id);
      if (!r) continue;
      if (r.phase !== 'ready') starting = true;
      else {
        ready++;
        slots += Math.max(1, slot.node.maxConcurrency);
        queued += r.queued;
        const since = r.saturatedSince;
        if (since !== undefined && now - since >= config.scaleOutAfterMs) saturated++;
      }
    }
    if (starting || ready === 0) continue;
    const deep = queued >= config.scaleOutQueuePerSlot * slots;
    if (!deep && saturated < ready) continue;
    const { slot, serve, rejections } = bestNode(ctx, { model: view.model, needMb: view.needMb }, view);
    if (!slot || !serve) {
      ctx.decisions.push({
        at: now,
        rule: 'scale_out_blocked',
        outcome: 'blocked',
        model: view.model.id,
        reason: `${ready} replica(s) ${deep ? `with ${queued} waiting` : 'saturated'}; no node fits another (${describeRejections(rejections)})`,
      });
      continue;
    }
    if (saturated < ready && serve.ms > config.scaleOutMaxServeMs) continue;
    // A sibling that would serve only after the model's busy spells usually end is memory for nothing.
    const run = busySpellMs(ctx.arrivals[view.model.id]);
    if (serve.ms > Math.max(config.scaleOutMaxServeMs, run)) {
      ctx.decisions.push({
        at: now,
        rule: 'scale_out_blocked',
        outcome: 'blocked',
        model: view.model.id,
        reason: `${ready} replica(s) saturated; another would serve only in ~${Math.round(serve.ms / 1000)}s (${describeServe(serve)}), after its busy spells usually end (~${Math.round(run / 60_000)}m)`,
      });
      continue;
    }
    const why = saturated >= ready ? `${ready} replica(s) saturated for ≥ ${config.scaleOutAfterMs / 1000}s` : `${queued} waiting for ${slots} slot(s)`;
    act(ctx, 'load', slot, view.model.id, 'scale_out', `${why}; serving in ~${Math.round(serve.ms / 1000)}s (${describeServe(serve)})`);
    addLive(ctx, slot, view);
  }
}
