import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exponential, lognormal, mulberry32, zipfWeights, type Rng } from '../rng';

/**
 * Writes the three sample traces in sim/samples/: SYNTHETIC data made here, in the
 * formats of the public traces, so `npm run sim` replays each format without a download.
 * They are not excerpts of the real traces (see docs/on-demand-loading.md for where those
 * live). Deterministic: `node --import tsx sim/samples/make-samples.ts` rewrites the same
 * bytes (a unit test checks it).
 *
 * Each sample carries a pattern the synthetic Poisson/Gamma workloads lack:
 * - Azure Functions: timer functions firing on a fixed period, HTTP functions with a
 *   day/night cycle and on/off sessions, queue functions draining batches.
 * - BurstGPT: chat conversations (a few turns, tens of seconds apart) and API clients
 *   sending tight bursts.
 * - requests (timestamp,model,tokens): steady models, periodic batch jobs, and models
 *   whose demand ends (or starts) partway through.
 */
const here = path.dirname(fileURLToPath(import.meta.url));

function hex(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(rng() * 16).toString(16);
  return s;
}

/** A day/night factor in [0.35, 1.65] for minute `m` of a day (peak mid-afternoon). */
function diurnal(m: number): number {
  return 1 + 0.65 * Math.sin((2 * Math.PI * (m - 540)) / 1440);
}

function poissonCount(rng: Rng, mean: number): number {
  if (mean <= 0) return 0;
  let k = 0;
  for (let t = exponential(rng, 1 / mean); t < 1; t += exponential(rng, 1 / mean)) k++;
  return k;
}

export function azureSample(): string {
  const rng = mulberry32(2019);
  const fns = 24;
  const perMinute = 18; // ≈ 0.3 invocations per second in all
  const weights = zipfWeights(fns, 1.0);
  const minutes = 1440;
  const lines = [`HashOwner,HashApp,HashFunction,Trigger,${Array.from({ length: minutes }, (_, i) => i + 1).join(',')}`];
  for (let f = 0; f < fns; f++) {
    const counts = new Array<number>(minutes).fill(0);
    const mean = perMinute * weights[f];
    const kind = f % 4 === 1 ? 'timer' : f % 4 === 3 ? 'queue' : 'http';
    if (kind === 'timer') {
      const period = [5, 10, 15, 30, 60][Math.floor(rng() * 5)];
      const phase = Math.floor(rng() * period);
      const per = Math.max(1, Math.round(mean * period));
      for (let m = phase; m < minutes; m += period) counts[m] += per;
    } else if (kind === 'queue') {
      // Batches arrive about every 40 min and drain over a few minutes.
      const batch = Math.max(5, Math.round(mean * 40));
      for (let m = exponential(rng, 40); m < minutes; m += exponential(rng, 40)) {
        const spread = 1 + Math.floor(rng() * 4);
        for (let k = 0; k < batch; k++) counts[Math.min(minutes - 1, Math.floor(m) + Math.floor(rng() * spread))]++;
      }
    } else {
      // On/off sessions: active spells (lognormal, ~8 min) at 4× the mean, quiet spells between.
      let m = 0;
      let on = rng() < 0.3;
      while (m < minutes) {
        const len = Math.max(1, Math.round(on ? lognormal(rng, 8, 0.8) : lognormal(rng, 18, 1.0)));
        for (let i = m; i < Math.min(minutes, m + len); i++) counts[i] += poissonCount(rng, on ? 4 * mean * diurnal(i) : 0.02 * mean);
        m += len;
        on = !on;
      }
    }
    lines.push(`${hex(rng, 64)},${hex(rng, 64)},${hex(rng, 64)},${kind},${counts.join(',')}`);
  }
  return `${lines.join('\n')}\n`;
}

export function burstGptSample(): string {
  const rng = mulberry32(4242);
  const hours = 12;
  const horizon = hours * 3600;
  const names = Array.from({ length: 16 }, (_, i) => `model-${String(i + 1).padStart(2, '0')}`);
  const weights = zipfWeights(names.length, 1.1);
  const rows: { t: number; model: string; req: number; resp: number; log: string }[] = [];
  const perSec = 0.12;
  names.forEach((model, i) => {
    // Conversations: a geometric number of turns (mean 5), ~40 s of reading and typing apart.
    const convPerSec = (0.7 * perSec * weights[i]) / 5;
    for (let t = exponential(rng, 1 / convPerSec); t < horizon; t += exponential(rng, 1 / convPerSec)) {
      let at = t;
      do {
        rows.push({ t: at, model, req: Math.round(lognormal(rng, 600, 0.9)), resp: Math.round(lognormal(rng, 250, 0.7)), log: 'Conversation log' });
        at += lognormal(rng, 40, 0.8);
      } while (rng() < 0.8 && at < horizon);
    }
    // API clients: bursts of ~20 requests a second or two apart.
    const burstPerSec = (0.3 * perSec * weights[i]) / 20;
    for (let t = exponential(rng, 1 / burstPerSec); t < horizon; t += exponential(rng, 1 / burstPerSec)) {
      let at = t;
      const n = 5 + Math.floor(rng() * 30);
      for (let k = 0; k < n && at < horizon; k++) {
        // About 3% fail upstream and come back with no response tokens, as in the real trace.
        const failed = rng() < 0.03;
        rows.push({ t: at, model, req: Math.round(lognormal(rng, 900, 0.6)), resp: failed ? 0 : Math.round(lognormal(rng, 150, 0.6)), log: 'API log' });
        at += exponential(rng, 1.5);
      }
    }
  });
  rows.sort((a, b) => a.t - b.t);
  const out = ['Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type'];
  for (const r of rows) out.push(`${r.t.toFixed(3)},${r.model},${r.req},${r.resp},${r.req + r.resp},${r.log}`);
  return `${out.join('\n')}\n`;
}

export function requestsSample(): string {
  const rng = mulberry32(777);
  const horizon = 12 * 3600;
  const rows: { t: number; model: string; tokens: number }[] = [];
  const add = (t: number, model: string) => rows.push({ t, model, tokens: Math.max(16, Math.round(lognormal(rng, 200, 0.8))) });
  const names = Array.from({ length: 20 }, (_, i) => `app-${String.fromCharCode(97 + i)}`);
  const weights = zipfWeights(names.length, 0.9);
  const perSec = 0.12;
  names.forEach((model, i) => {
    const rate = perSec * weights[i];
    if (i % 5 === 2) {
      // A batch job: every 30 min, 40 requests within 90 s.
      const phase = rng() * 1800;
      for (let t = phase; t < horizon; t += 1800) for (let k = 0; k < 40; k++) add(t + rng() * 90, model);
    } else if (i % 5 === 4) {
      // Demand that ends (odd) or starts (even) halfway: a project moving models.
      const [from, to] = i % 2 ? [0, horizon / 2] : [horizon / 2, horizon];
      for (let t = from + exponential(rng, 2 / rate); t < to; t += exponential(rng, 2 / rate)) add(t, model);
    } else {
      for (let t = exponential(rng, 1 / rate); t < horizon; t += exponential(rng, 1 / rate)) add(t, model);
    }
  });
  rows.sort((a, b) => a.t - b.t);
  return `timestamp,model,tokens\n${rows.map((r) => `${r.t.toFixed(3)},${r.model},${r.tokens}`).join('\n')}\n`;
}

export const SAMPLES: Record<string, () => string> = {
  'azure-functions-2019.sample.csv': azureSample,
  'burstgpt.sample.csv': burstGptSample,
  'requests.sample.csv': requestsSample,
};

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const [file, make] of Object.entries(SAMPLES)) {
    const text = make();
    writeFileSync(path.join(here, file), text);
    console.log(`${file}: ${text.split('\n').length - 2} rows, ${(text.length / 1024).toFixed(0)} KB`);
  }
}
