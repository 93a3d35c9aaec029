/**
 * Following the demo's jobs as an operator would: the control plane's view through the Admin
 * API (`pgc jobs`), PanDA's through the simulator, until every job is final and PanDA has
 * acknowledged it, or a deadline says something is stuck.
 */
import type { JobSummary } from '../../shared/gen/pgc/v1/admin.js';
import type { AdminConnection } from '../admin/connection.js';
import { stateWord } from '../admin/shapes.js';
import { pandaStatuses } from './panda-view.js';
import type { ProgressDisplay } from './progress.js';
import { columnOf } from './progress.js';
import { DemoFailedError, pause } from './wait.js';
import type { DemoJob } from './workload.js';

export interface JobSnapshot {
  job: DemoJob;
  /** The control plane's record; undefined until it acquired the job from PanDA. */
  summary: JobSummary | undefined;
  /** The control plane's state word, or undefined. */
  state: string | undefined;
  pandaStatus: string;
}

const FINAL = new Set(['finished', 'failed', 'cancelled']);
const PANDA_FINAL = new Set(['finished', 'failed', 'cancelled', 'closed']);

/**
 * Final in the control plane, acknowledged by PanDA, and final in PanDA too: PanDA holds a
 * reported job in "holding" until its Adder has looked at the outputs.
 */
export function isDone(s: JobSnapshot): boolean {
  return (
    s.state !== undefined &&
    FINAL.has(s.state) &&
    s.summary?.reported === true &&
    PANDA_FINAL.has(s.pandaStatus)
  );
}

export class JobWatch {
  private latest: JobSnapshot[] = [];

  constructor(
    private readonly admin: AdminConnection,
    private readonly pandaUrl: string,
    readonly jobs: readonly DemoJob[],
  ) {}

  /** The last snapshot taken (empty before the first). */
  get last(): readonly JobSnapshot[] {
    return this.latest;
  }

  async snapshot(): Promise<JobSnapshot[]> {
    const [page, statuses] = await Promise.all([
      this.admin.listJobs({
        states: [],
        endpointId: '',
        queue: '',
        taskId: 0,
        pageSize: 1000,
        pageToken: '',
      }),
      pandaStatuses(this.pandaUrl),
    ]);
    const byId = new Map(page.jobs.map((j) => [j.key?.pandaId ?? 0, j]));
    this.latest = this.jobs.map((job) => {
      const summary = byId.get(job.pandaId);
      return {
        job,
        summary,
        state: summary === undefined ? undefined : stateWord(summary.state),
        pandaStatus: statuses.get(job.pandaId) ?? 'unknown',
      };
    });
    return this.latest;
  }

  snapshotOf(pandaId: number): JobSnapshot | undefined {
    return this.latest.find((s) => s.job.pandaId === pandaId);
  }
}

export interface WatchOptions {
  display: ProgressDisplay;
  startedAtMs: number;
  timeoutMs: number;
  intervalMs: number;
  signal: AbortSignal;
  /** Checked on every round: an error here (a process died, the kill failed) ends the watch. */
  failure: () => Error | undefined;
}

/** Shows progress until every job is done; throws when the deadline passes first. */
export async function watchUntilDone(watch: JobWatch, o: WatchOptions): Promise<JobSnapshot[]> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const problem = o.failure();
    if (problem !== undefined) throw problem;
    const snapshots = await watch.snapshot();
    o.display.update(
      snapshots.map((s) => ({
        task: s.job.task,
        column: columnOf(s.state),
        reported: isDone(s),
      })),
      Date.now() - o.startedAtMs,
    );
    if (snapshots.every(isDone)) return snapshots;
    if (Date.now() >= deadline) {
      const stuck = snapshots
        .filter((s) => !isDone(s))
        .map(
          (s) =>
            `job ${s.job.pandaId} (${s.job.label}): ${s.state ?? 'not acquired'} in the control plane, ${s.pandaStatus} in PanDA`,
        );
      throw new DemoFailedError(
        `jobs did not finish within ${o.timeoutMs / 1000} s:\n  ${stuck.join('\n  ')}`,
      );
    }
    await pause(o.intervalMs, o.signal);
  }
}
