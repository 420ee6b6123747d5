/**
 * A small Prometheus registry: counters, gauges and histograms with labels,
 * rendered in the text exposition format (version 0.0.4). Pure and
 * serialisable (`toJSON` / `load`), so the Hub can keep it across restarts.
 * Label values are escaped as the format requires; names are fixed in code.
 */
export type Labels = Record<string, string>;
type Kind = 'counter' | 'gauge' | 'histogram';

interface Family {
  kind: Kind;
  help: string;
  buckets?: number[];
  /** Series by their rendered label set. Counters and gauges: [value]; histograms: [...bucket counts, sum, count]. */
  series: Map<string, number[]>;
}

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export class Registry {
  private readonly families = new Map<string, Family>();

  counter(name: string, help: string): void {
    this.define(name, 'counter', help);
  }

  gauge(name: string, help: string): void {
    this.define(name, 'gauge', help);
  }

  histogram(name: string, help: string, buckets: number[]): void {
    this.define(
      name,
      'histogram',
      help,
      [...buckets].sort((a, b) => a - b),
    );
  }

  inc(name: string, labels: Labels, by = 1): void {
    const s = this.series(name, labels, 'counter');
    s[0] += by;
  }

  set(name: string, labels: Labels, value: number): void {
    this.series(name, labels, 'gauge')[0] = value;
  }

  /** Drops every series of a gauge (before setting the ones that exist now). */
  reset(name: string): void {
    this.families.get(name)?.series.clear();
  }

  observe(name: string, labels: Labels, value: number): void {
    const f = this.family(name, 'histogram');
    const s = this.series(name, labels, 'histogram');
    const buckets = f.buckets!;
    for (let i = 0; i < buckets.length; i++) if (value <= buckets[i]) s[i]++;
    s[buckets.length] += value;
    s[buckets.length + 1]++;
  }

  /** The text exposition of every family, in definition order. */
  render(): string {
    const out: string[] = [];
    for (const [name, f] of this.families) {
      out.push(`# HELP ${name} ${escapeHelp(f.help)}`, `# TYPE ${name} ${f.kind}`);
      for (const [labels, v] of f.series) {
        if (f.kind !== 'histogram') {
          out.push(`${name}${labels ? `{${labels}}` : ''} ${num(v[0])}`);
          continue;
        }
        const buckets = f.buckets!;
        const sep = labels ? `${labels},` : '';
        // Stored per bucket as "≤ bound"; the format wants cumulative counts, which that already is.
        for (let i = 0; i < buckets.length; i++) out.push(`${name}_bucket{${sep}le="${num(buckets[i])}"} ${num(v[i])}`);
        out.push(`${name}_bucket{${sep}le="+Inf"} ${num(v[buckets.length + 1])}`);
        out.push(`${name}_sum${labels ? `{${labels}}` : ''} ${num(v[buckets.length])}`);
        out.push(`${name}_count${labels ? `{${labels}}` : ''} ${num(v[buckets.length + 1])}`);
      }
    }
    return `${out.join('\n')}\n`;
  }

  /** Counter and histogram state (gauges are recomputed, not kept). */
  toJSON(): Record<string, Array<[string, number[]]>> {
    const out: Record<string, Array<[string, number[]]>> = {};
    for (const [name, f] of this.families) if (f.kind !== 'gauge') out[name] = [...f.series];
    return out;
  }

  /** Restores state saved by `toJSON` for families defined now; anything else is ignored. */
  load(state: unknown): void {
    if (typeof state !== 'object' || state === null) return;
    for (const [name, series] of Object.entries(state as Record<string, unknown>)) {
      const f = this.families.get(name);
      if (!f || f.kind === 'gauge' || !Array.isArray(series)) continue;
      const width = f.kind === 'histogram' ? f.buckets!.length + 2 : 1;
      for (const entry of series) {
        if (!Array.isArray(entry) || typeof entry[0] !== 'string' || !Array.isArray(entry[1]) || entry[1].length !== width) continue;
        if (!entry[1].every((x: unknown) => typeof x === 'number' && Number.isFinite(x))) continue;
        f.series.set(entry[0], entry[1] as number[]);
      }
    }
  }

  private define(name: string, kind: Kind, help: string, buckets?: number[]): void {
    if (!this.families.has(name)) this.families.set(name, { kind, help, buckets, series: new Map() });
  }

  private family(name: string, kind: Kind): Family {
    const f = this.families.get(name);
    if (!f || f.kind !== kind) throw new Error(`metric ${name} is not a defined ${kind}`);
    return f;
  }

  private series(name: string, labels: Labels, kind: Kind): number[] {
    const f = this.family(name, kind);
    const key = renderLabels(labels);
    let s = f.series.get(key);
    if (!s) {
      s = new Array(kind === 'histogram' ? f.buckets!.length + 2 : 1).fill(0);
      f.series.set(key, s);
    }
    return s;
  }
}

function renderLabels(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}="${escapeLabel(labels[k])}"`)
    .join(',');
}

function escapeLabel(v: string): string {
  return v.replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('"', '\\"');
}

function escapeHelp(v: string): string {
  return v.replaceAll('\\', '\\\\').replaceAll('\n', '\\n');
}

function num(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}
