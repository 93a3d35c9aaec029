/**
 * Live progress of the demo's jobs: how many are in each state, per task. On a terminal the
 * table is redrawn in place; anywhere else (a pipe, a CI log) one line is printed only when the
 * counts change, so the output stays short and every line says something new.
 */
import { table } from '../admin/table.js';

/** Where a job is, as the demo shows it: PanDA's side until the control plane has it. */
export type ProgressColumn =
  | 'in PanDA'
  | 'queued'
  | 'starting'
  | 'running'
  | 'finished'
  | 'failed'
  | 'cancelled';

export const COLUMNS: readonly ProgressColumn[] = [
  'in PanDA',
  'queued',
  'starting',
  'running',
  'finished',
  'failed',
  'cancelled',
];

/** The column of a control-plane state word (`pgc jobs` words); undefined: not acquired yet. */
export function columnOf(state: string | undefined): ProgressColumn {
  switch (state) {
    case undefined:
      return 'in PanDA';
    case 'queued':
      return 'queued';
    case 'dispatched':
    case 'accepted':
    case 'staging':
      return 'starting';
    case 'running':
    case 'finishing':
      return 'running';
    case 'finished':
    case 'failed':
    case 'cancelled':
      return state;
    default:
      return 'starting';
  }
}

export interface ProgressEntry {
  task: string;
  column: ProgressColumn;
  /** Final and acknowledged by PanDA. */
  reported: boolean;
}

export interface ProgressCounts {
  byTask: Map<string, Map<ProgressColumn | 'reported', number>>;
  total: Map<ProgressColumn | 'reported', number>;
}

export function countProgress(entries: readonly ProgressEntry[]): ProgressCounts {
  const byTask = new Map<string, Map<ProgressColumn | 'reported', number>>();
  const total = new Map<ProgressColumn | 'reported', number>();
  const bump = (m: Map<ProgressColumn | 'reported', number>, k: ProgressColumn | 'reported') =>
    m.set(k, (m.get(k) ?? 0) + 1);
  for (const e of entries) {
    const row = byTask.get(e.task) ?? new Map();
    byTask.set(e.task, row);
    for (const m of [row, total]) {
      bump(m, e.column);
      if (e.reported) bump(m, 'reported');
    }
  }
  return { byTask, total };
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const HEADER = ['', ...COLUMNS.map((c) => c.toUpperCase()), 'REPORTED'];

/** The terminal table: one row per task and a total. */
export function renderTable(counts: ProgressCounts, elapsedMs: number): string {
  const cells = (m: Map<ProgressColumn | 'reported', number>) =>
    [...COLUMNS, 'reported' as const].map((c) => String(m.get(c) ?? 0));
  const rows = [...counts.byTask].map(([task, m]) => [task, ...cells(m)]);
  rows.push(['all jobs', ...cells(counts.total)]);
  return `jobs after ${seconds(elapsedMs)}\n${table(HEADER, rows)}`;
}

const LINE_COLUMNS = [...COLUMNS, 'reported' as const];

/** The column header of the non-terminal form, printed once. */
export function lineHeader(): string {
  return `progress ${'time'.padStart(7)}  ${LINE_COLUMNS.join('  ')}`;
}

/** One line of totals, each under its header: "progress   3.4 s         0  …". */
export function renderLine(counts: ProgressCounts, elapsedMs: number): string {
  const cells = LINE_COLUMNS.map((c) => String(counts.total.get(c) ?? 0).padStart(c.length));
  return `progress ${seconds(elapsedMs).padStart(7)}  ${cells.join('  ')}`;
}

/** A stable key of the counts, to print a line only when something changed. */
export function countsKey(counts: ProgressCounts): string {
  return [...counts.byTask]
    .map(([task, m]) => `${task}:${[...m].sort().join(',')}`)
    .sort()
    .join('|');
}

export class ProgressDisplay {
  private drawnLines = 0;
  private lastKey: string | undefined;
  private headerShown = false;

  constructor(
    private readonly write: (text: string) => void,
    private readonly tty: boolean,
  ) {}

  update(entries: readonly ProgressEntry[], elapsedMs: number): void {
    const counts = countProgress(entries);
    if (this.tty) {
      this.redraw(renderTable(counts, elapsedMs));
      return;
    }
    const key = countsKey(counts);
    if (key === this.lastKey) return;
    this.lastKey = key;
    if (!this.headerShown) this.write(`${lineHeader()}\n`);
    this.headerShown = true;
    this.write(`${renderLine(counts, elapsedMs)}\n`);
  }

  /** A message between updates; on a terminal it goes above the table, which is redrawn. */
  note(text: string): void {
    if (this.tty) {
      this.clear();
      this.write(`${text}\n`);
    } else this.write(`${text}\n`);
  }

  /** Leaves the last table on screen; later output starts below it. */
  finish(): void {
    this.drawnLines = 0;
  }

  private clear(): void {
    // Cursor up over the previous table, then erase to the end of the screen.
    if (this.drawnLines > 0) this.write(`\x1b[${this.drawnLines}A\x1b[J`);
    this.drawnLines = 0;
  }

  private redraw(text: string): void {
    this.clear();
    this.write(text);
    this.drawnLines = text.split('\n').length - 1;
  }
}
