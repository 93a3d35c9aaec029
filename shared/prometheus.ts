/**
 * Just enough of the Prometheus text format (0.0.4) for panda-gc: counters, histograms and
 * gauges read at scrape time, each with labels. A registry renders them all; control plane and
 * agent each keep one. A metrics library would bring a dependency tree for a few dozen lines.
 */

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  labels?: Labels;
  value: number;
}

interface Metric {
  render(): string[];
}

const escapeValue = (v: string): string =>
  v.replace(/["\\\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));

function labelText(labels: Labels | undefined, extra?: [string, string]): string {
  const pairs = Object.entries(labels ?? {});
  if (extra) pairs.push(extra);
  if (pairs.length === 0) return '';
  return `{${pairs.map(([k, v]) => `${k}="${escapeValue(v)}"`).join(',')}}`;
}

function keyOf(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function header(name: string, help: string, type: string): string[] {
  if (!NAME.test(name)) throw new Error(`bad metric name ${name}`);
  return [`# HELP ${name} ${help.replace(/\n/g, ' ')}`, `# TYPE ${name} ${type}`];
}

export class Counter implements Metric {
  private readonly values = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = keyOf(labels);
    const entry = this.values.get(key) ?? { labels, value: 0 };
    entry.value += by;
    this.values.set(key, entry);
  }

  /** Sets the total as reported by someone else (e.g. an agent's own counter). */
  set(labels: Labels, value: number): void {
    this.values.set(keyOf(labels), { labels, value });
  }

  value(labels: Labels = {}): number {
    return this.values.get(keyOf(labels))?.value ?? 0;
  }

  render(): string[] {
    const lines = header(this.name, this.help, 'counter');
    for (const { labels, value } of this.values.values())
      lines.push(`${this.name}${labelText(labels)} ${value}`);
    return lines;
  }
}

/** Buckets in seconds from 1 ms to 5 min: dispatch and end-to-end latencies both fit. */
export const LATENCY_BUCKETS_S = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
];

export class Histogram implements Metric {
  private readonly series = new Map<
    string,
    { labels: Labels; counts: number[]; sum: number; count: number }
  >();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[] = LATENCY_BUCKETS_S,
  ) {}

  observe(value: number, labels: Labels = {}): void {
    const key = keyOf(labels);
    const s = this.series.get(key) ?? {
      labels,
      counts: this.buckets.map(() => 0),
      sum: 0,
      count: 0,
    };
    this.buckets.forEach((le, i) => {
      if (value <= le) s.counts[i] = (s.counts[i] ?? 0) + 1;
    });
    s.sum += value;
    s.count += 1;
    this.series.set(key, s);
  }

  count(labels: Labels = {}): number {
    return this.series.get(keyOf(labels))?.count ?? 0;
  }

  render(): string[] {
    const lines = header(this.name, this.help, 'histogram');
    for (const s of this.series.values()) {
      this.buckets.forEach((le, i) => {
        lines.push(`${this.name}_bucket${labelText(s.labels, ['le', String(le)])} ${s.counts[i]}`);
      });
      lines.push(`${this.name}_bucket${labelText(s.labels, ['le', '+Inf'])} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(s.labels)} ${s.sum}`);
      lines.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return lines;
  }
}

/** A gauge computed when scraped (jobs by state, connected endpoints, …). */
class CollectedGauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly collect: () => readonly Sample[],
  ) {}

  render(): string[] {
    const lines = header(this.name, this.help, 'gauge');
    for (const s of this.collect()) lines.push(`${this.name}${labelText(s.labels)} ${s.value}`);
    return lines;
  }
}

export class MetricsRegistry {
  private readonly metrics: Metric[] = [];

  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }

  histogram(name: string, help: string, buckets?: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }

  gauge(name: string, help: string, collect: () => readonly Sample[]): void {
    this.add(new CollectedGauge(name, help, collect));
  }

  render(): string {
    return `${this.metrics.flatMap((m) => m.render()).join('\n')}\n`;
  }

  private add<M extends Metric>(metric: M): M {
    this.metrics.push(metric);
    return metric;
  }
}
