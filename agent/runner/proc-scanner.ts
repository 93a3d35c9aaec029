/**
 * One /proc scan shared by every kill in flight. A full scan reads every process's stat file (and,
 * for the marker sweep, the environment of every candidate), so a scan per kill per poll made 50
 * concurrent kills do 50 full scans every 50 ms and saturated the agent (bench/scenarios/kills.ts).
 * Here callers ask for a snapshot; all callers waiting when the scan runs get the same one, and
 * scans run at most once per interval, so the cost per tick is O(processes), not
 * O(kills × processes).
 */
import { type ProcStat, processesByMarker, scanProcesses } from '../proc.js';

/** Which processes carrying `variable=marker` a caller wants from the snapshot. */
export interface MarkerQuery {
  variable: string;
  marker: string;
  /**
   * Only processes started at or after these clock ticks (the job's supervisor): nothing of a job
   * is older, and reading every process's environment was a measurable cost. Undefined: all.
   */
  sinceTicks?: number;
}

export interface Snapshot {
  /** Every live (non-zombie) process, read after the request was made. */
  table: readonly ProcStat[];
  /** The processes carrying the asked marker (empty when none was asked). */
  marked: ProcStat[];
}

interface Waiter {
  query: MarkerQuery | undefined;
  resolve: (snapshot: Snapshot) => void;
  reject: (err: unknown) => void;
}

export interface ScannerOptions {
  /** Least time between the starts of two scans. */
  intervalMs?: number;
  /** Injected for unit tests; the real ones read /proc. */
  readTable?: () => ProcStat[];
  readMarkers?: (variable: string, candidates: readonly ProcStat[]) => Map<string, ProcStat[]>;
}

export class ProcScanner {
  /** Full /proc table reads so far (tests assert it does not grow with the number of kills). */
  scans = 0;
  /** Least time between the starts of two scans: at most one scan per interval, however many ask. */
  readonly intervalMs: number;
  private readonly readTable: () => ProcStat[];
  private readonly readMarkers: NonNullable<ScannerOptions['readMarkers']>;
  private waiting: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastStartMs = Number.NEGATIVE_INFINITY;

  constructor(options: ScannerOptions = {}) {
    this.intervalMs = options.intervalMs ?? 50;
    this.readTable = options.readTable ?? scanProcesses;
    this.readMarkers = options.readMarkers ?? processesByMarker;
  }

  /**
   * A snapshot taken after this call: never an older one, because the caller has usually just
   * signalled and must see the effect. Immediate when no scan ran within the interval.
   */
  snapshot(query?: MarkerQuery): Promise<Snapshot> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ query, resolve, reject });
      if (this.timer !== undefined) return;
      // A timer even at 0 ms, never a synchronous scan: callers of the same tick share one.
      const waitMs = Math.max(0, this.lastStartMs + this.intervalMs - performance.now());
      this.timer = setTimeout(() => this.run(), waitMs);
    });
  }

  private run(): void {
    this.timer = undefined;
    const waiters = this.waiting;
    this.waiting = [];
    this.lastStartMs = performance.now();
    try {
      const table = this.readTable();
      this.scans++;
      const marked = this.markerPasses(table, waiters);
      for (const w of waiters) {
        const q = w.query;
        const found = q === undefined ? [] : (marked.get(q.variable)?.get(q.marker) ?? []);
        const since = q?.sinceTicks;
        w.resolve({
          table,
          marked: since === undefined ? found : found.filter((p) => p.startTicks >= since),
        });
      }
    } catch (err) {
      for (const w of waiters) w.reject(err);
    }
  }

  /** One environment pass per marker variable, over the union of the callers' candidates. */
  private markerPasses(
    table: readonly ProcStat[],
    waiters: readonly Waiter[],
  ): Map<string, Map<string, ProcStat[]>> {
    // Per variable: the oldest start any caller wants (-Infinity: one wants every process).
    const oldest = new Map<string, number>();
    for (const { query: q } of waiters) {
      if (q === undefined) continue;
      const since = q.sinceTicks ?? Number.NEGATIVE_INFINITY;
      oldest.set(q.variable, Math.min(oldest.get(q.variable) ?? Number.POSITIVE_INFINITY, since));
    }
    const out = new Map<string, Map<string, ProcStat[]>>();
    for (const [variable, since] of oldest) {
      const candidates =
        since === Number.NEGATIVE_INFINITY ? table : table.filter((p) => p.startTicks >= since);
      out.set(variable, this.readMarkers(variable, candidates));
    }
    return out;
  }
}

/** The agent's one scanner: every kill in the process shares its scans. */
export const sharedScanner = new ProcScanner();
