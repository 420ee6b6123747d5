/**
 * A strict reader of the Prometheus text exposition format (0.0.4), for tests:
 * it throws on anything the format does not allow (bad names, labels, escapes,
 * values, a sample outside its family, HELP/TYPE out of place) and checks the
 * histogram rules (buckets cumulative and ordered by `le`, a `+Inf` bucket equal
 * to `_count`, a `_sum`). The npm `parse-prometheus-text-format` package is used
 * beside it as an independent syntax check; it cannot read labelled histograms.
 */
export interface Series {
  labels: Record<string, string>;
  value: number;
}
export interface Histogram {
  labels: Record<string, string>;
  buckets: Array<[le: number, count: number]>;
  count: number;
  sum: number;
}
export interface ParsedFamily {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string;
  series: Series[];
  histograms: Histogram[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function parseExposition(text: string): Map<string, ParsedFamily> {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const families = new Map<string, ParsedFamily>();
  let current: ParsedFamily | null = null;
  const hist = new Map<string, Histogram>();
  for (const [i, line] of text.slice(0, -1).split('\n').entries()) {
    const where = `line ${i + 1}: ${line}`;
    if (line === '') continue;
    if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) {
      const [, kind, name, ...rest] = line.split(' ');
      if (!NAME.test(name)) throw new Error(`bad metric name, ${where}`);
      if (kind === 'HELP') {
        if (families.has(name) && families.get(name)!.series.length + families.get(name)!.histograms.length) throw new Error(`HELP after samples, ${where}`);
        current = families.get(name) ?? { name, type: 'untyped', help: '', series: [], histograms: [] };
        current.help = rest.join(' ');
        families.set(name, current);
      } else {
        const type = rest.join(' ');
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type)) throw new Error(`bad type, ${where}`);
        current = families.get(name) ?? { name, type: 'untyped', help: '', series: [], histograms: [] };
        current.type = type as ParsedFamily['type'];
        families.set(name, current);
      }
      continue;
    }
    if (line.startsWith('#')) continue;
    const { name, labels, value } = sample(line, where);
    if (!current) throw new Error(`sample before any family, ${where}`);
    if (current.type === 'histogram') {
      const base = current.name;
      const { le, ...rest } = labels;
      const key = JSON.stringify(rest);
      const h = hist.get(`${base}${key}`) ?? { labels: rest, buckets: [], count: Number.NaN, sum: Number.NaN };
      if (!hist.has(`${base}${key}`)) {
        hist.set(`${base}${key}`, h);
        current.histograms.push(h);
      }
      if (name === `${base}_bucket`) {
        if (le === undefined) throw new Error(`bucket without le, ${where}`);
        h.buckets.push([le === '+Inf' ? Infinity : Number(le), value]);
      } else if (name === `${base}_count`) h.count = value;
      else if (name === `${base}_sum`) h.sum = value;
      else throw new Error(`sample ${name} outside its histogram family, ${where}`);
      continue;
    }
    if (name !== current.name) throw new Error(`sample ${name} outside its family ${current.name}, ${where}`);
    current.series.push({ labels, value });
  }
  for (const f of families.values()) {
    for (const h of f.histograms) {
      const where = `${f.name}${JSON.stringify(h.labels)}`;
      for (let i = 1; i < h.buckets.length; i++) {
        if (!(h.buckets[i][0] > h.buckets[i - 1][0])) throw new Error(`buckets out of order in ${where}`);
        if (h.buckets[i][1] < h.buckets[i - 1][1]) throw new Error(`buckets not cumulative in ${where}`);
      }
      const inf = h.buckets.at(-1);
      if (!inf || inf[0] !== Infinity) throw new Error(`no +Inf bucket in ${where}`);
      if (inf[1] !== h.count) throw new Error(`+Inf bucket ${inf[1]} differs from _count ${h.count} in ${where}`);
      if (Number.isNaN(h.sum)) throw new Error(`no _sum in ${where}`);
    }
  }
  return families;
}

function sample(line: string, where: string): { name: string; labels: Record<string, string>; value: number } {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
  if (!m) throw new Error(`bad sample, ${where}`);
  const labels: Record<string, string> = {};
  let rest = m[3] ?? '';
  while (rest.length) {
    const l = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(,|$)/.exec(rest);
    if (!l || !LABEL.test(l[1])) throw new Error(`bad label, ${where}`);
    if (l[1] in labels) throw new Error(`duplicate label ${l[1]}, ${where}`);
    labels[l[1]] = l[2].replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(l[0].length);
  }
  const raw = m[4];
  const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : raw === 'NaN' ? Number.NaN : Number(raw);
  if (Number.isNaN(value) && raw !== 'NaN') throw new Error(`bad value, ${where}`);
  return { name: m[1], labels, value };
}
