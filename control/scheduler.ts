/**
 * Which queued job goes to which endpoint. Pure. A job takes `cores` slots and `memoryMb` of its
 * endpoint; it may go only to a connected endpoint that serves its queue (the agent offers the
 * queue and the configuration permits it), is not draining and has room. Jobs are placed oldest
 * first; each goes where the load after placing it is lowest, so work spreads over endpoints.
 */
import type { JobKey } from '../shared/gen/pgc/v1/common.js';

export interface EndpointView {
  endpointId: string;
  /** Queues this endpoint both offers and is permitted to serve. */
  queues: readonly string[];
  slotsTotal: number;
  /** The higher of the agent's own count and the slots of attempts bound to it here. */
  slotsUsed: number;
  /** 0: the agent does not account memory. */
  memoryMbTotal: number;
  memoryMbUsed: number;
  draining: boolean;
}

export interface QueuedJob {
  key: JobKey;
  /** recordId of the attempt. */
  id: string;
  queue: string;
  cores: number;
  memoryMb: number;
}

export interface Assignment {
  job: QueuedJob;
  endpointId: string;
}

/** A usage view that errs on the side of "full": the agent may lag, and so may we. */
export function combinedUsage(reported: number, bound: number): number {
  return Math.max(reported, bound);
}

function fits(e: EndpointView, job: QueuedJob): boolean {
  if (e.draining || !e.queues.includes(job.queue)) return false;
  if (e.slotsTotal - e.slotsUsed < job.cores) return false;
  return e.memoryMbTotal <= 0 || e.memoryMbTotal - e.memoryMbUsed >= job.memoryMb;
}

const load = (e: EndpointView, job: QueuedJob): number =>
  (e.slotsUsed + job.cores) / Math.max(1, e.slotsTotal);

/**
 * Places `jobs` (oldest first) on `endpoints`. `excluded`, when given, says an endpoint may not
 * take a job (it rejected it recently); leave it out when nothing is excluded.
 *
 * Each job looks only at the endpoints that serve its queue and still have room for the smallest
 * job, so a pass costs O(jobs × endpoints with room) rather than O(jobs × endpoints): with
 * 1,000 endpoints and a burst of jobs, most endpoints are full (bench/scenarios/scale.ts). The
 * choice is unchanged, as the order "lowest load, then most free memory, then endpoint id" is
 * total and does not depend on which endpoints were skipped for lack of room.
 */
export function schedule(
  jobs: readonly QueuedJob[],
  endpoints: readonly EndpointView[],
  excluded?: (jobId: string, endpointId: string) => boolean,
): Assignment[] {
  const out: Assignment[] = [];
  if (jobs.length === 0) return out;
  let smallestCores = Number.POSITIVE_INFINITY;
  for (const job of jobs) smallestCores = Math.min(smallestCores, job.cores);
  const hasRoom = (e: EndpointView) => !e.draining && e.slotsTotal - e.slotsUsed >= smallestCores;
  // Copies, so placing jobs does not change the caller's views; one copy shared by its queues.
  const byQueue = new Map<string, EndpointView[]>();
  for (const view of endpoints) {
    if (!hasRoom(view)) continue;
    const e = { ...view };
    for (const queue of new Set(e.queues)) {
      const list = byQueue.get(queue);
      if (list === undefined) byQueue.set(queue, [e]);
      else list.push(e);
    }
  }
  for (const job of jobs) {
    const candidates = byQueue.get(job.queue);
    if (candidates === undefined) continue;
    let best: EndpointView | undefined;
    // Endpoints filled by earlier placements leave the list as the scan passes them.
    let kept = 0;
    for (const e of candidates) {
      if (!hasRoom(e)) continue;
      candidates[kept++] = e;
      if (!fits(e, job) || excluded?.(job.id, e.endpointId)) continue;
      if (best === undefined) {
        best = e;
        continue;
      }
      const byLoad = load(e, job) - load(best, job);
      const byMemory = e.memoryMbTotal - e.memoryMbUsed - (best.memoryMbTotal - best.memoryMbUsed);
      if (
        byLoad < 0 ||
        (byLoad === 0 && (byMemory > 0 || (byMemory === 0 && e.endpointId < best.endpointId)))
      )
        best = e;
    }
    candidates.length = kept;
    if (best === undefined) continue;
    best.slotsUsed += job.cores;
    best.memoryMbUsed += job.memoryMb;
    out.push({ job, endpointId: best.endpointId });
  }
  return out;
}

export interface FreeCapacity {
  /** Slots free on endpoints serving the queue, less what queued jobs will take. */
  slots: number;
  /** The most memory free on one such endpoint; undefined when none accounts memory. */
  memoryMb: number | undefined;
}

/** What a queue could take now: the bound for acquire_jobs (n_jobs and memory). */
export function freeCapacity(
  queue: string,
  endpoints: readonly EndpointView[],
  queued: readonly QueuedJob[],
): FreeCapacity {
  const serving = endpoints.filter((e) => !e.draining && e.queues.includes(queue));
  let slots = 0;
  let memoryMb: number | undefined;
  for (const e of serving) {
    slots += Math.max(0, e.slotsTotal - e.slotsUsed);
    if (e.memoryMbTotal > 0) memoryMb = Math.max(memoryMb ?? 0, e.memoryMbTotal - e.memoryMbUsed);
  }
  // Queued jobs that these endpoints could take will take those slots first.
  for (const job of queued) {
    if (serving.some((e) => e.queues.includes(job.queue))) slots -= job.cores;
  }
  return { slots: Math.max(0, slots), memoryMb };
}
