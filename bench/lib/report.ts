/**
 * What a benchmark scenario returns and how the results are shown: a table on the terminal and
 * docs/BENCHMARKS.md. A figure is always the median of its runs, next to the baseline measured in
 * the same run where there is one.
 */

export interface BenchContext {
  /** 1 for the full benchmark; 1/20 for CI's smoke run. Sizes are multiplied by it. */
  scale: number;
  /** How many runs each figure is the median of (at least 3; the smoke run uses 1). */
  runs: number;
  smoke: boolean;
  /** A directory of this scenario's own, removed after it. */
  dir: string;
  /** Progress for the person waiting (stderr). */
  log: (line: string) => void;
}

export interface Baseline {
  /** What the baseline is, e.g. "bare sh -c true, same concurrency". */
  name: string;
  value: number;
  samples: number[];
}

export interface Figure {
  /** What was measured, e.g. "jobs/s end to end". */
  name: string;
  unit: string;
  /** The median of `samples`. */
  value: number;
  samples: number[];
  baseline?: Baseline;
  /** value ÷ baseline (or the ratio the target is stated in); set with the baseline. */
  ratio?: number;
  /** The target, in words, and whether this run met it. Smoke runs print, never judge. */
  target?: { text: string; met: boolean };
}

export interface ScenarioResult {
  figures: Figure[];
  /** Where the time goes, what the numbers mean; for a missed target, the profile's verdict. */
  notes: string[];
}

export interface Scenario {
  /** Short id for --only, e.g. "throughput". */
  id: string;
  /** Title in the report, e.g. "1. Throughput: 2,000 trivial command jobs". */
  title: string;
  run: (ctx: BenchContext) => Promise<ScenarioResult>;
}

export interface ScenarioOutcome {
  scenario: Scenario;
  result?: ScenarioResult;
  error?: string;
  seconds: number;
}

function fmt(x: number | undefined): string {
  if (x === undefined || Number.isNaN(x)) return '–';
  const abs = Math.abs(x);
  if (abs >= 1000) return Math.round(x).toLocaleString('en-US');
  if (abs >= 100) return x.toFixed(0);
  if (abs >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

function verdict(figure: Figure, smoke: boolean): string {
  if (figure.target === undefined) return '';
  if (smoke) return 'not judged (smoke)';
  return figure.target.met ? 'met' : 'MISSED';
}

interface Row {
  scenario: string;
  figure: string;
  median: string;
  baseline: string;
  ratio: string;
  target: string;
  verdict: string;
}

function rows(outcomes: readonly ScenarioOutcome[], smoke: boolean): Row[] {
  const out: Row[] = [];
  for (const { scenario, result, error } of outcomes) {
    if (result === undefined) {
      out.push({
        scenario: scenario.id,
        figure: `FAILED: ${error ?? 'no result'}`,
        median: '',
        baseline: '',
        ratio: '',
        target: '',
        verdict: '',
      });
      continue;
    }
    for (const f of result.figures)
      out.push({
        scenario: scenario.id,
        figure: f.name,
        median: `${fmt(f.value)} ${f.unit}`,
        baseline: f.baseline ? `${fmt(f.baseline.value)} ${f.unit} (${f.baseline.name})` : '',
        ratio: f.ratio === undefined ? '' : f.ratio.toFixed(2),
        target: f.target?.text ?? '',
        verdict: verdict(f, smoke),
      });
  }
  return out;
}

const COLUMNS: Array<[keyof Row, string]> = [
  ['scenario', 'scenario'],
  ['figure', 'figure'],
  ['median', 'median'],
  ['baseline', 'baseline (same run)'],
  ['ratio', 'ratio'],
  ['target', 'target'],
  ['verdict', ''],
];

/** A plain-text table for the terminal. */
export function terminalTable(outcomes: readonly ScenarioOutcome[], smoke: boolean): string {
  const body = rows(outcomes, smoke);
  const widths = COLUMNS.map(([key, title]) =>
    Math.max(title.length, ...body.map((r) => r[key].length)),
  );
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [
    line(COLUMNS.map(([, title]) => title)),
    ...body.map((r) => line(COLUMNS.map(([key]) => r[key]))),
  ].join('\n');
}

function mdCell(text: string): string {
  return text.replaceAll('|', '\\|');
}

export interface ReportHeader {
  date: string;
  commit: string;
  machine: string[];
  command: string;
  runs: number;
  scale: number;
}

/** docs/BENCHMARKS.md: machine, date, commit, the summary table, then each scenario's details. */
export function markdownReport(
  header: ReportHeader,
  outcomes: readonly ScenarioOutcome[],
  smoke: boolean,
): string {
  const out: string[] = [
    '# Benchmarks',
    '',
    `Written by \`${header.command}\` on ${header.date}, commit \`${header.commit}\`. Each figure is`,
    `the median of ${header.runs} run(s); every baseline was measured on the same machine in the same run.`,
    smoke ? 'This is a smoke run (1/20 of the sizes): the figures are not meaningful.' : '',
    '',
    '## Machine',
    '',
    ...header.machine.map((m) => `- ${m}`),
    '',
    '## Summary',
    '',
    `| ${COLUMNS.map(([, t]) => t || 'verdict').join(' | ')} |`,
    `| ${COLUMNS.map(() => '---').join(' | ')} |`,
    ...rows(outcomes, smoke).map((r) => `| ${COLUMNS.map(([k]) => mdCell(r[k])).join(' | ')} |`),
    '',
  ];
  for (const { scenario, result, error, seconds } of outcomes) {
    out.push(`## ${scenario.title}`, '');
    if (result === undefined) {
      out.push(`Failed after ${seconds.toFixed(0)} s: ${error ?? 'no result'}`, '');
      continue;
    }
    for (const f of result.figures) {
      const runs = f.samples.map(fmt).join(', ');
      const base = f.baseline
        ? `; baseline (${f.baseline.name}) ${fmt(f.baseline.value)} (runs: ${f.baseline.samples.map(fmt).join(', ')})`
        : '';
      out.push(`- ${f.name}: ${fmt(f.value)} ${f.unit} (runs: ${runs})${base}`);
    }
    if (result.notes.length > 0) out.push('', ...result.notes);
    out.push('', `(${seconds.toFixed(0)} s)`, '');
  }
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}
