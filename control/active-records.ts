/**
 * The job records the control plane still works on (job-record.ts `isActive`), kept in memory by
 * ControlStore, with two indexes the dispatch path reads on every pass: the records bound to each
 * endpoint and the queued records. Without them every capacity view filtered all active records
 * once per endpoint — O(endpoints × records) per pass, which capped dispatch at ~300/s with 1,000
 * endpoints (bench/scenarios/scale.ts).
 *
 * `put` is the only way in, so the indexes cannot drift from the records: a record is indexed
 * exactly as its current state says. Pure, no I/O.
 */
import {
  BOUND_STATES,
  coresOf,
  isActive,
  type JobRecord,
  JobState,
  memoryOf,
  recordId,
} from './job-record.js';

/** Slots and memory the attempts bound to one endpoint take. */
export interface BoundUsage {
  slots: number;
  memoryMb: number;
}

export class ActiveRecords {
  private readonly records = new Map<string, JobRecord>();
  /** endpoint id → record id → record, for records in BOUND_STATES. */
  private readonly byEndpoint = new Map<string, Map<string, JobRecord>>();
  private readonly queuedById = new Map<string, JobRecord>();

  get size(): number {
    return this.records.size;
  }

  get(id: string): JobRecord | undefined {
    return this.records.get(id);
  }

  has(id: string): boolean {
    return this.records.has(id);
  }

  values(): IterableIterator<JobRecord> {
    return this.records.values();
  }

  /** Stores the newest version of a record; one that is no longer active leaves. */
  put(record: JobRecord): void {
    const id = recordId(record.key);
    this.unindex(id);
    if (!isActive(record)) {
      this.records.delete(id);
      return;
    }
    this.records.set(id, record);
    if (record.state === JobState.QUEUED) this.queuedById.set(id, record);
    if (record.endpointId !== undefined && BOUND_STATES.has(record.state)) {
      let bound = this.byEndpoint.get(record.endpointId);
      if (bound === undefined) {
        bound = new Map();
        this.byEndpoint.set(record.endpointId, bound);
      }
      bound.set(id, record);
    }
  }

  /** Records bound to an endpoint (dispatched…finishing): O(its records). */
  bound(endpointId: string): JobRecord[] {
    const bound = this.byEndpoint.get(endpointId);
    return bound === undefined ? [] : [...bound.values()];
  }

  /** Slots and memory of the records bound to an endpoint, without copying them. */
  boundUsage(endpointId: string): BoundUsage {
    const usage = { slots: 0, memoryMb: 0 };
    for (const r of this.byEndpoint.get(endpointId)?.values() ?? []) {
      usage.slots += coresOf(r);
      usage.memoryMb += memoryOf(r);
    }
    return usage;
  }

  /** Queued records, in no particular order. */
  queued(): JobRecord[] {
    return [...this.queuedById.values()];
  }

  get queuedCount(): number {
    return this.queuedById.size;
  }

  private unindex(id: string): void {
    const old = this.records.get(id);
    if (old === undefined) return;
    this.queuedById.delete(id);
    if (old.endpointId === undefined) return;
    const bound = this.byEndpoint.get(old.endpointId);
    if (bound?.delete(id) && bound.size === 0) this.byEndpoint.delete(old.endpointId);
  }
}
