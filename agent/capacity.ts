/**
 * What an agent can still take: slots (a job takes `cores` of them) and memory (its `memoryMb`).
 * Pure, so the dispatch decision is tested without processes.
 */
import type { Capacity } from '../shared/gen/pgc/v1/gateway.js';
import type { JobSpec } from '../shared/gen/pgc/v1/job.js';

export interface CapacityLimits {
  slots: number;
  memoryMb: number;
}

export function slotsOf(spec: JobSpec): number {
  return Math.max(1, spec.limits?.cores ?? 1);
}

export function memoryOf(spec: JobSpec): number {
  return Math.max(0, spec.limits?.memoryMb ?? 0);
}

/** Current use from the specs of the jobs that have not ended. */
export function capacityOf(
  limits: CapacityLimits,
  active: readonly JobSpec[],
  draining: boolean,
): Capacity {
  return {
    slotsTotal: limits.slots,
    slotsUsed: active.reduce((n, s) => n + slotsOf(s), 0),
    memoryMbTotal: limits.memoryMb,
    memoryMbUsed: active.reduce((n, s) => n + memoryOf(s), 0),
    draining,
  };
}

/** Why the job does not fit now, or undefined when it does. */
export function refusal(capacity: Capacity, spec: JobSpec): string | undefined {
  if (capacity.draining) return 'the endpoint is draining';
  const slots = slotsOf(spec);
  if (capacity.slotsUsed + slots > capacity.slotsTotal) {
    return `needs ${slots} slot(s), ${capacity.slotsTotal - capacity.slotsUsed} of ${capacity.slotsTotal} free`;
  }
  const memory = memoryOf(spec);
  if (memory > 0 && capacity.memoryMbUsed + memory > capacity.memoryMbTotal) {
    return `needs ${memory} MB, ${capacity.memoryMbTotal - capacity.memoryMbUsed} of ${capacity.memoryMbTotal} MB free`;
  }
  return undefined;
}
