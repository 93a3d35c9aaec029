import { describe, expect, it } from 'vitest';
import type { ControlStore } from '../../../control/control-store.js';
import { Dispatcher } from '../../../control/dispatcher.js';
import type { EndpointRegistry } from '../../../control/endpoint-registry.js';
import { type JobRecord, JobState, recordId } from '../../../control/job-record.js';
import { acquiredRecord, type RecordEvent, transition } from '../../../control/job-transition.js';
import type { EndpointView } from '../../../control/scheduler.js';
import { silentLogger } from '../../../shared/logger.js';
import { specOf } from './random-record-events.js';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A dispatcher over an in-memory store and one live endpoint; counts passes (each reads the
 * views once) and can hold the store's writes, to kick while a pass is in its middle.
 */
function fixture() {
  const records = new Map<string, JobRecord>();
  const held: Array<() => void> = [];
  let holdWrites = false;
  let writes = 0;
  const store = {
    queued: () => [...records.values()].filter((r) => r.state === JobState.QUEUED),
    applyMany: async (items: ReadonlyArray<{ key: JobRecord['key']; event: RecordEvent }>) => {
      if (holdWrites) await new Promise<void>((resolve) => held.push(resolve));
      writes++;
      return items.map(({ key, event }) => {
        const record = records.get(recordId(key));
        if (record === undefined) return undefined;
        const result = transition(record, event);
        if (result.applied) records.set(recordId(key), result.record);
        return result;
      });
    },
  };
  let streamOpen = true;
  let sentUnbound = 0;
  const session = {
    endpointId: 'ep-a',
    state: 'live',
    send: (message: { body: { dispatch: { spec: { key: JobRecord['key'] } } } }) => {
      const record = records.get(recordId(message.body.dispatch.spec.key));
      // protocol.md §3: the record is bound on disk before its dispatch leaves.
      if (record?.state !== JobState.DISPATCHED) sentUnbound++;
      return streamOpen;
    },
    expectAck: () => undefined,
  };
  let passes = 0;
  const view: EndpointView = {
    endpointId: 'ep-a',
    queues: ['Q'],
    slotsTotal: 100,
    slotsUsed: 0,
    memoryMbTotal: 0,
    memoryMbUsed: 0,
    draining: false,
  };
  const registry = {
    views: () => {
      passes++;
      return [view];
    },
    current: () => session,
  };
  const dispatcher = new Dispatcher(
    store as unknown as ControlStore,
    registry as unknown as EndpointRegistry,
    { ackTimeoutMs: 60_000, rejectBackoffMs: 1_000, log: silentLogger(), now: () => 1 },
  );
  let nextId = 1;
  return {
    dispatcher,
    passes: () => passes,
    writes: () => writes,
    sentUnbound: () => sentUnbound,
    closeStream() {
      streamOpen = false;
    },
    inState: (state: JobState) => [...records.values()].filter((r) => r.state === state).length,
    queue(n: number) {
      for (let i = 0; i < n; i++) {
        const pandaId = nextId++;
        const r = acquiredRecord({ pandaId, attemptNr: 1 }, 'Q', specOf(pandaId, 1, 0), 0);
        records.set(recordId(r.key), r);
      }
    },
    holdWrites(on: boolean) {
      holdWrites = on;
    },
    releaseWrites() {
      for (const release of held.splice(0)) release();
    },
    held: () => held.length,
  };
}

describe('Dispatcher passes', () => {
  it('a burst of kicks in one turn makes one pass, which binds its jobs in one write', async () => {
    const f = fixture();
    f.queue(3);
    for (let i = 0; i < 100; i++) f.dispatcher.kick();
    await turn();
    await turn();
    expect(f.passes()).toBe(1);
    expect(f.inState(JobState.DISPATCHED)).toBe(3);
    expect(f.writes()).toBe(1);
    expect(f.sentUnbound()).toBe(0);
    await f.dispatcher.stop();
  });

  it('queues again, in one more write, the dispatches a closing stream did not take', async () => {
    const f = fixture();
    f.queue(3);
    f.closeStream();
    f.dispatcher.kick();
    for (let i = 0; i < 5; i++) await turn();
    expect(f.inState(JobState.QUEUED)).toBe(3);
    expect(f.writes()).toBe(2);
    await f.dispatcher.stop();
  });

  it('kicks during a pass make exactly one more pass, after it', async () => {
    const f = fixture();
    f.queue(2);
    f.holdWrites(true);
    f.dispatcher.kick();
    await turn();
    expect(f.passes()).toBe(1);
    expect(f.held()).toBe(1); // the pass waits on its first dispatch's write
    f.queue(2);
    for (let i = 0; i < 50; i++) f.dispatcher.kick();
    await turn();
    expect(f.passes()).toBe(1); // no second pass while the first runs
    f.holdWrites(false);
    f.releaseWrites();
    for (let i = 0; i < 5; i++) await turn();
    expect(f.passes()).toBe(2);
    expect(f.inState(JobState.DISPATCHED)).toBe(4);
    for (let i = 0; i < 5; i++) await turn();
    expect(f.passes()).toBe(2); // and then it rests
    await f.dispatcher.stop();
  });

  it('does not read the endpoint views when nothing is queued', async () => {
    const f = fixture();
    f.dispatcher.kick();
    await turn();
    expect(f.passes()).toBe(0);
    await f.dispatcher.stop();
  });

  it('makes no pass after stop, even one already scheduled', async () => {
    const f = fixture();
    f.queue(1);
    f.dispatcher.kick();
    await f.dispatcher.stop();
    await turn();
    expect(f.passes()).toBe(0);
    expect(f.inState(JobState.DISPATCHED)).toBe(0);
  });
});
