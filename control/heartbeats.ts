/**
 * PanDA heartbeats of jobs an agent holds: PanDA fails a starting or running job whose last
 * update is older than its heartbeat timeout (2 h by default, reference §2.5), so every such job
 * is reported again once `pandaHeartbeatIntervalMs` (default 10 min) passed since its last update.
 */
import type { ControlStore } from './control-store.js';
import { BOUND_STATES, type JobRecord, JobState } from './job-record.js';

/** Records due for a heartbeat at `now`. Pure. */
export function dueHeartbeats(
  records: Iterable<JobRecord>,
  now: number,
  intervalMs: number,
): JobRecord[] {
  const due: JobRecord[] = [];
  for (const r of records) {
    if (!BOUND_STATES.has(r.state) || r.state === JobState.DISPATCHED) continue;
    if (now - (r.lastReportAtMs ?? r.updatedAtMs) >= intervalMs) due.push(r);
  }
  return due;
}

/** How often to look for due heartbeats: often enough to be at most a tenth late. */
export function heartbeatCheckMs(intervalMs: number): number {
  return Math.max(50, Math.min(10_000, Math.floor(intervalMs / 10)));
}

/** Queues a heartbeat for every job due one. */
export async function sendDueHeartbeats(
  store: ControlStore,
  intervalMs: number,
  now: () => number,
): Promise<void> {
  const at = now();
  const due = dueHeartbeats(store.active(), at, intervalMs);
  if (due.length === 0) return;
  await store.applyMany(due.map((r) => ({ key: r.key, event: { type: 'heartbeat-due', at } })));
}
