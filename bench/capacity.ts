import { performance } from 'node:perf_hooks';
import { bootBenchStack } from './stack';
import { cpuSeconds, findDescendants, peakRssMb } from './proc';
import { fmt, p99 } from './stats';

export interface CapacityStep {
  rate: number;
  sent: number;
  ok: number;
  p50: number;
  p99: number;
}

export interface CapacityResult {
  steps: CapacityStep[];
  best: number;
  perThousand: { workerdCpuS: number; agentCpuS: number; workerdPeakMb: number; agentPeakMb: number };
}

/**
 * B3: open-loop arrivals of 20-chunk streams through the edge. Each request's
 * latency counts from its scheduled time, not its send time, so a stalled
 * server cannot hide its queue (no coordinated omission). The rate doubles
 * until p99 passes 50 ms or success drops under 99.9 %.
 */
export async function capacity(quick: boolean): Promise<CapacityResult> {
  const b = await bootBenchStack();
  try {
    const workerd = findDescendants(process.pid, /workerd/);
    const agent = b.stack.agents[0].child.pid!;
    const seconds = quick ? 2 : 5;
    const steps: CapacityStep[] = [];
    let best = 0;
    const cpu0 = { w: sum(workerd.map(cpuSeconds)), a: cpuSeconds(agent) };
    let requests = 0;
    for (let rate = 50; rate <= 3200; rate *= 2) {
      const step = await runStep(b.edge.url, b.edge.headers, rate, seconds);
      steps.push(step);
      requests += step.sent;
      if (step.p99 <= 50 && step.ok / step.sent >= 0.999) best = rate;
      else break;
    }
    const cpu1 = { w: sum(workerd.map(cpuSeconds)), a: cpuSeconds(agent) };
    const k = 1000 / Math.max(1, requests);
    return {
      steps,
      best,
      perThousand: {
        workerdCpuS: (cpu1.w - cpu0.w) * k,
        agentCpuS: (cpu1.a - cpu0.a) * k,
        workerdPeakMb: sum(workerd.map(peakRssMb)),
        agentPeakMb: peakRssMb(agent),
      },
    };
  } finally {
    await b.stop();
  }
}

async function runStep(url: string, headers: Record<string, string>, rate: number, seconds: number): Promise<CapacityStep> {
  const total = rate * seconds;
  const interval = 1000 / rate;
  const start = performance.now() + 20;
  const latencies: number[] = [];
  let ok = 0;
  const body = JSON.stringify({ model: 'bench-instant', messages: [{ role: 'user', content: 'x' }], max_tokens: 20, stream: true });
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inflight.push(
      (async () => {
        try {
          const res = await fetch(`${url}/v1/chat/completions`, {
            method: 'POST',
            headers: { ...headers, 'content-type': 'application/json' },
            body,
            signal: AbortSignal.timeout(10_000),
          });
          const text = await res.text();
          if (res.ok && text.endsWith('data: [DONE]\n\n')) ok++;
        } catch {
          // counted as a failure
        }
        latencies.push(performance.now() - due);
      })(),
    );
  }
  await Promise.all(inflight);
  const sorted = [...latencies].sort((a, b) => a - b);
  return { rate, sent: total, ok, p50: sorted[Math.floor(sorted.length / 2)], p99: p99(latencies) };
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

export function capacityRows(r: CapacityResult): string {
  return [
    '## B3 capacity (open loop)',
    '',
    "Requests of 20-chunk streams (instant engine) at a fixed arrival rate, latency counted from each request's scheduled time; the rate doubles until p99 > 50 ms or success < 99.9 %. The load generator shares the machine with workerd and the agent.",
    '',
    '| arrivals/s | sent | ok | p50 ms | p99 ms |',
    '|---|---|---|---|---|',
    ...r.steps.map((s) => `| ${s.rate} | ${s.sent} | ${s.ok} | ${fmt(s.p50)} | ${fmt(s.p99)} |`),
    '',
    `Highest rate meeting p99 ≤ 50 ms with ≥ 99.9 % success: **${r.best} req/s**. Per 1,000 requests: workerd ${fmt(r.perThousand.workerdCpuS)} CPU-s, agent ${fmt(r.perThousand.agentCpuS)} CPU-s; peak RSS workerd ${fmt(r.perThousand.workerdPeakMb, 0)} MB, agent ${fmt(r.perThousand.agentPeakMb, 0)} MB.`,
  ].join('\n');
}
