import { describe, expect, it } from 'vitest';
import { ControlStore } from '../../../control/control-store.js';
import { isActive, type JobRecord, recordId } from '../../../control/job-record.js';
import { acquiredRecord } from '../../../control/job-transition.js';
import { silentLogger } from '../../../shared/logger.js';
import { tempDir } from '../../harness/temp.js';
import {
  boundByFilter,
  ENDPOINTS,
  randomEvent,
  seededRandom,
  specOf,
} from '../../unit/control/random-record-events.js';

const open = (dir: string) =>
  ControlStore.open(dir, { schedulerId: 'pgc-test', log: silentLogger() });

/** Every record on disk that is active: what the store must hold after a load. */
async function activeOnDisk(store: ControlStore): Promise<JobRecord[]> {
  const out: JobRecord[] = [];
  for await (const r of store.allRecords()) if (isActive(r)) out.push(r);
  return out;
}

const ids = (records: readonly JobRecord[]) => records.map((r) => recordId(r.key)).sort();

describe('control store bound index', () => {
  it('bound(endpoint) equals a full filter after random writes and restarts', async () => {
    using dir = tempDir();
    const random = seededRandom(7);
    let store = await open(dir.path);
    try {
      let nextPandaId = 1;
      let restarts = 0;
      for (let step = 0; step < 400; step++) {
        const at = 10_000 + step;
        const active = store.active();
        if (active.length === 0 || random() < 0.2) {
          // Created in small batches, as intake does.
          const created = Array.from({ length: 1 + Math.floor(random() * 3) }, () => {
            const pandaId = nextPandaId++;
            const spec = specOf(pandaId, 1 + Math.floor(random() * 4), 0);
            const record = acquiredRecord({ pandaId, attemptNr: 1 }, 'Q', spec, at);
            return { record, effects: [], applied: true };
          });
          await store.create(created, []);
        } else {
          // Several events in one write, some on the same record, as reconcile and leases do.
          const items = Array.from({ length: 1 + Math.floor(random() * 3) }, () => {
            const record = active[Math.floor(random() * active.length)] as JobRecord;
            return { key: record.key, event: randomEvent(record, at, random) };
          });
          await store.applyMany(items);
        }
        if (random() < 0.05) {
          await store.close();
          store = await open(dir.path);
          restarts++;
          expect(ids(store.active())).toEqual(ids(await activeOnDisk(store)));
        }
        for (const endpointId of ENDPOINTS)
          expect(ids(store.bound(endpointId))).toEqual(boundByFilter(store.active(), endpointId));
      }
      expect(restarts).toBeGreaterThan(5);
      // The index is not trivially empty: the walk left attempts bound.
      expect(ENDPOINTS.some((e) => store.bound(e).length > 0)).toBe(true);
      expect(ids(store.active())).toEqual(ids(await activeOnDisk(store)));
    } finally {
      await store.close();
    }
  });
});
