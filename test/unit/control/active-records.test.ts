import { describe, expect, it } from 'vitest';
import { ActiveRecords } from '../../../control/active-records.js';
import {
  coresOf,
  isActive,
  type JobRecord,
  JobState,
  memoryOf,
  recordId,
} from '../../../control/job-record.js';
import { acquiredRecord, transition } from '../../../control/job-transition.js';
import {
  boundByFilter,
  ENDPOINTS,
  randomEvent,
  seededRandom,
  specOf,
} from './random-record-events.js';

/** The indexes of `records` equal what a full filter of `latest` (every record's newest version) gives. */
function expectIndexesMatch(records: ActiveRecords, latest: ReadonlyMap<string, JobRecord>): void {
  const active = [...latest.values()].filter(isActive);
  expect(records.size).toBe(active.length);
  for (const r of active) expect(records.get(recordId(r.key))).toBe(r);
  for (const endpointId of ENDPOINTS) {
    const expected = boundByFilter(active, endpointId);
    const bound = records.bound(endpointId);
    expect(bound.map((r) => recordId(r.key)).sort()).toEqual(expected);
    const boundRecords = active.filter((r) => expected.includes(recordId(r.key)));
    expect(records.boundUsage(endpointId)).toEqual({
      slots: boundRecords.reduce((n, r) => n + coresOf(r), 0),
      memoryMb: boundRecords.reduce((n, r) => n + memoryOf(r), 0),
    });
  }
  const queued = active.filter((r) => r.state === JobState.QUEUED).map((r) => recordId(r.key));
  expect(
    records
      .queued()
      .map((r) => recordId(r.key))
      .sort(),
  ).toEqual(queued.sort());
}

describe('ActiveRecords', () => {
  it('keeps bound and queued indexes equal to a full filter after random transitions and reloads', () => {
    const statesSeen = new Set<JobState>();
    let forgotten = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const random = seededRandom(seed);
      let records = new ActiveRecords();
      const latest = new Map<string, JobRecord>();
      let nextPandaId = 1;
      for (let step = 0; step < 300; step++) {
        const at = 1_000 + step;
        const active = [...latest.values()].filter(isActive);
        if (active.length === 0 || random() < 0.15) {
          const pandaId = nextPandaId++;
          const spec = specOf(
            pandaId,
            1 + Math.floor(random() * 4),
            Math.floor(random() * 3) * 500,
          );
          const record = acquiredRecord(spec.key ?? { pandaId, attemptNr: 1 }, 'Q', spec, at);
          latest.set(recordId(record.key), record);
          records.put(record);
        } else {
          const record = active[Math.floor(random() * active.length)] as JobRecord;
          const result = transition(record, randomEvent(record, at, random));
          if (result.applied) {
            latest.set(recordId(record.key), result.record);
            records.put(result.record);
            statesSeen.add(result.record.state);
            if (!isActive(result.record)) forgotten++;
          }
        }
        // A restart: the store loads every record from disk and keeps the active ones.
        if (random() < 0.05) {
          records = new ActiveRecords();
          for (const r of latest.values()) records.put(r);
        }
        expectIndexesMatch(records, latest);
      }
    }
    // The sequences went everywhere that matters: through every bound state and out of memory.
    for (const state of [
      JobState.QUEUED,
      JobState.DISPATCHED,
      JobState.ACCEPTED,
      JobState.STAGING,
      JobState.RUNNING,
      JobState.FINISHING,
      JobState.FINISHED,
      JobState.FAILED,
      JobState.CANCELLED,
    ])
      expect(statesSeen).toContain(state);
    expect(forgotten).toBeGreaterThan(50);
  });

  it('forgets a record that is final and reported, and the endpoint it was bound to', () => {
    const records = new ActiveRecords();
    let record = acquiredRecord({ pandaId: 5, attemptNr: 1 }, 'Q', specOf(5, 2, 100), 0);
    records.put(record);
    expect(records.queued()).toEqual([record]);
    for (const event of [
      { type: 'dispatch', at: 1, endpointId: 'ep-a', dispatchId: 'd1' },
      { type: 'ack-accepted', at: 2, endpointId: 'ep-a', dispatchId: 'd1' },
    ] as const) {
      record = transition(record, event).record;
      records.put(record);
    }
    expect(records.queued()).toEqual([]);
    expect(records.bound('ep-a')).toEqual([record]);
    expect(records.boundUsage('ep-a')).toEqual({ slots: 2, memoryMb: 100 });
    record = transition(record, { type: 'lease-expired', at: 3, endpointId: 'ep-a' }).record;
    records.put(record);
    expect(records.bound('ep-a')).toEqual([]);
    expect(records.size).toBe(1); // failed, not yet reported: still active
    record = transition(record, { type: 'reported', at: 4, message: 'ok' }).record;
    records.put(record);
    expect(records.size).toBe(0);
    expect(records.boundUsage('ep-a')).toEqual({ slots: 0, memoryMb: 0 });
  });
});
