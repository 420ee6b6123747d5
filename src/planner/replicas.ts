import { act, addLive, type PlanContext } from './context';
import { bestNode, describeRejections } from './placement';

/**
 * Scale out: when every ready replica of a model has had more requests than its node's
 * concurrency (inflight + queued > maxConcurrency, tracked by the Hub as
 * `saturatedSince`) for at least scaleOutAfterMs, load one more replica on the best
 * node that fits without eviction. One at a time: nothing happens while a replica of
 * the model is still downloading or loading. Surplus replicas go the normal way, by
 * idle eviction or as cheap demand-eviction victims (see victimScore).
 */
export function scaleOut(ctx: PlanContext): void {
  const { now, config } = ctx;
  for (const view of ctx.models.values()) {
    if (!view.model.enabled || view.hosts.length === 0 || view.hosts.length >= config.maxReplicas) continue;
    let ready = 0;
    let saturated = 0;
    let starting = false;
    for (const slot of view.hosts) {
      if (!slot.node.online) continue;
      const r = slot.live.find((x) => x.model === view.model.id);
      if (!r) continue;
      if (r.phase !== 'ready') starting = true;
      else {
        ready++;
        const since = r.saturatedSince;
        if (since !== undefined && now - since >= config.scaleOutAfterMs) saturated++;
      }
    }
    if (starting || ready === 0 || saturated < ready) continue;
    const { slot, rejections } = bestNode({ model: view.model, needMb: view.needMb }, ctx.slots, now, config);
    if (!slot) {
      ctx.decisions.push({
        at: now, rule: 'scale_out_blocked', outcome: 'blocked', model: view.model.id,
        reason: `${ready} replica(s) saturated; no node fits another (${describeRejections(rejections)})`,
      });
      continue;
    }
    act(ctx, 'load', slot, view.model.id, 'scale_out', `${ready} replica(s) saturated for ≥ ${config.scaleOutAfterMs / 1000}s`);
    addLive(ctx, slot, view);
  }
}
