import { describe, expect, it } from 'vitest';
import { BAD_REPORT_DIAG } from '../../../sim/adder.js';
import { defineJob, NEW_JOB } from '../../../sim/job-definition.js';
import type { JobEvent, Outcome, SimJobState } from '../../../sim/job-record.js';
import { transition } from '../../../sim/job-state.js';
import { initialState } from '../../../sim/job-store.js';
import type { PilotUpdate } from '../../../sim/pilot-update.js';
import { DEFAULT_TIMEOUTS } from '../../../sim/timeouts.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

function newJob(extra: Record<string, unknown> = {}): SimJobState {
  const spec = NEW_JOB.parse({
    site: 'Q',
    jobPars: '-p x',
    outputs: [{ lfn: 'out.dat', scope: 'user.t' }],
    log: { lfn: 'job.log.tgz', scope: 'user.t' },
    ...extra,
  });
  const def = defineJob(spec, {
    pandaId: 7,
    taskId: 3,
    baseUrl: 'http://sim',
    findReplica: () => undefined,
  });
  return initialState(def, T0);
}

/** Applies events in order; returns the last state and every outcome. */
function run(job: SimJobState, events: JobEvent[]): { job: SimJobState; outcomes: Outcome[] } {
  const outcomes: Outcome[] = [];
  let current = job;
  for (const e of events) {
    const t = transition(current, e);
    current = t.job;
    outcomes.push(t.outcome);
  }
  return { job: current, outcomes };
}

const acquire = (atMs = T0 + 1): JobEvent => ({
  type: 'acquire',
  atMs,
  node: 'node1',
  computingElement: null,
  schedulerId: 'harvester-x',
});

function update(
  status: PilotUpdate['status'],
  atMs: number,
  more: Partial<PilotUpdate> = {},
): JobEvent {
  return {
    type: 'pilot-update',
    atMs,
    update: { status, attemptNr: 1, columns: {}, outputReport: '', ...more },
  };
}

const GOOD_REPORT = JSON.stringify({
  'out.dat': { guid: 'g1', fsize: 10, adler32: '0a1b2c3d' },
  'job.log.tgz': { guid: 'g2', fsize: 20, adler32: '11223344' },
});

const commandOf = (o: Outcome | undefined): string | undefined =>
  o?.type === 'updated' ? o.command : undefined;

describe('job transitions', () => {
  it('goes activated → sent → starting → running → holding → finished with a good report', () => {
    const { job, outcomes } = run(newJob(), [
      acquire(),
      update('starting', T0 + 2),
      update('running', T0 + 3),
      update('finished', T0 + 4, { outputReport: GOOD_REPORT }),
    ]);
    expect(job.status).toBe('holding');
    expect(job.requestedStatus).toBe('finished');
    expect(outcomes.map(commandOf)).toEqual([undefined, 'NULL', 'NULL', 'NULL']);
    expect(outcomes[3]).toMatchObject({ applied: true, adder: true });
    expect(job.startTimeMs).toBe(T0 + 3); // first move to running
    expect(job.endTimeMs).toBe(T0 + 4); // entering holding
    const done = transition(job, { type: 'adder', atMs: T0 + 5 }).job;
    expect(done.status).toBe('finished');
    expect(done.ddmErrorCode).toBeNull();
    expect(done.events.map((e) => e.type)).toEqual([
      'activated',
      'sent',
      'starting',
      'running',
      'holding',
      'finished',
    ]);
  });

  it('records moves, not heartbeats, and keeps the event list bounded', () => {
    const beats = Array.from({ length: 1500 }, (_, i) => update('running', T0 + 10 + i));
    const { job } = run(newJob(), [acquire(), update('running', T0 + 2), ...beats]);
    expect(job.events.map((e) => e.type)).toEqual(['activated', 'sent', 'running']);
    expect(job.modificationTimeMs).toBe(T0 + 10 + 1499);
    const refused = Array.from({ length: 1500 }, (_, i) =>
      update('running', T0 + 10 + i, { attemptNr: 9 }),
    );
    expect(run(job, refused).job.events).toHaveLength(1000);
  });

  it('fails a finished job whose report lacks a checksum with ddmErrorCode 200', () => {
    const report = JSON.stringify({
      'out.dat': { guid: 'g', fsize: 1 },
      'job.log.tgz': { guid: 'g', fsize: 1, adler32: '00000001' },
    });
    const { job } = run(newJob(), [
      acquire(),
      update('running', T0 + 2),
      update('finished', T0 + 3, { outputReport: report }),
      { type: 'adder', atMs: T0 + 4 },
    ]);
    expect(job.status).toBe('failed');
    expect(job.ddmErrorCode).toBe(200);
    expect(job.ddmErrorDiag).toBe(BAD_REPORT_DIAG);
  });

  it('refuses an update for another attempt with tobekilled, without applying it', () => {
    const { job, outcomes } = run(newJob(), [
      acquire(),
      update('running', T0 + 2, { attemptNr: 2 }),
    ]);
    expect(job.status).toBe('sent');
    expect(commandOf(outcomes[1])).toBe('tobekilled');
    expect(outcomes[1]).toMatchObject({ applied: false });
  });

  it('answers alreadydone to a failed job and to a second final heartbeat', () => {
    const failed = run(newJob(), [
      acquire(),
      {
        type: 'watchdog',
        atMs: T0 + DEFAULT_TIMEOUTS.sentTimeoutMs + 10,
        timeouts: DEFAULT_TIMEOUTS,
      },
    ]).job;
    expect(failed.status).toBe('failed');
    for (const s of [
      'running',
      'starting',
      'holding',
      'transferring',
      'finished',
      'failed',
    ] as const) {
      expect(commandOf(transition(failed, update(s, T0 + 99)).outcome), s).toBe('alreadydone');
    }
    const twice = run(newJob(), [
      acquire(),
      update('running', T0 + 2),
      update('failed', T0 + 3),
      update('failed', T0 + 4),
    ]);
    expect(commandOf(twice.outcomes[3])).toBe('alreadydone');
  });

  it('ignores holding → running/starting and transferring after holding, keeps running for starting', () => {
    const holding = run(newJob(), [
      acquire(),
      update('running', T0 + 2),
      update('finished', T0 + 3, { outputReport: GOOD_REPORT }),
    ]).job;
    for (const s of ['running', 'starting', 'transferring'] as const) {
      const t = transition(holding, update(s, T0 + 9));
      expect(t.job.status, s).toBe('holding');
      expect(t.outcome).toMatchObject({ type: 'updated', command: 'NULL', applied: false });
    }
    const running = run(newJob(), [
      acquire(),
      update('running', T0 + 2),
      update('starting', T0 + 3),
    ]).job;
    expect(running.status).toBe('running');
  });

  it('answers tobekilled to updates of finished and cancelled jobs', () => {
    const finished = run(newJob(), [
      acquire(),
      update('running', T0 + 2),
      update('finished', T0 + 3, { outputReport: GOOD_REPORT }),
      { type: 'adder', atMs: T0 + 4 },
    ]).job;
    expect(finished.status).toBe('finished');
    expect(commandOf(transition(finished, update('running', T0 + 5)).outcome)).toBe('tobekilled');
    const cancelled = run(newJob(), [
      { type: 'kill', atMs: T0 + 1, code: null, user: 'u', jobSubStatus: null },
    ]).job;
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.taskBufferErrorCode).toBe(100);
    expect(commandOf(transition(cancelled, update('running', T0 + 5)).outcome)).toBe('tobekilled');
  });

  it('kills a running job through the next heartbeat; its failed report ends cancelled', () => {
    const { job, outcomes } = run(newJob(), [
      acquire(),
      update('running', T0 + 2),
      { type: 'kill', atMs: T0 + 3, code: null, user: 'u', jobSubStatus: null },
      update('running', T0 + 4),
      update('failed', T0 + 5, { columns: { pilotErrorCode: 1144 } }),
      { type: 'adder', atMs: T0 + 6 },
    ]);
    expect(outcomes[2]).toEqual({ type: 'killed', ok: true });
    expect(commandOf(outcomes[3])).toBe('tobekilled');
    expect(job.status).toBe('cancelled');
    expect(job.pilotErrorCode).toBe(1144);
    expect(job.ddmErrorCode).toBeNull(); // a pilot error explains the missing report
  });

  it('refuses to kill final jobs and closes jobs for expiry codes', () => {
    const finished = run(newJob(), [
      acquire(),
      update('running', T0 + 2),
      update('finished', T0 + 3, { outputReport: GOOD_REPORT }),
      { type: 'adder', atMs: T0 + 4 },
    ]).job;
    expect(
      transition(finished, {
        type: 'kill',
        atMs: T0 + 5,
        code: null,
        user: 'u',
        jobSubStatus: null,
      }).outcome,
    ).toEqual({ type: 'killed', ok: false });
    const closed = transition(newJob(), {
      type: 'kill',
      atMs: T0 + 1,
      code: 2,
      user: 'u',
      jobSubStatus: 'expired',
    }).job;
    expect(closed.status).toBe('closed');
    expect(closed.jobSubStatus).toBe('expired');
  });

  it('runs the watchdog clocks: sent 102, lost heartbeat 100, holding 103', () => {
    const t = {
      ...DEFAULT_TIMEOUTS,
      sentTimeoutMs: 100,
      heartbeatTimeoutMs: 200,
      holdingTimeoutMs: 300,
    };
    const dog = (atMs: number): JobEvent => ({ type: 'watchdog', atMs, timeouts: t });
    const sent = run(newJob(), [acquire(T0), dog(T0 + 100), dog(T0 + 101)]);
    expect(sent.job.status).toBe('failed');
    expect(sent.job.events.filter((e) => e.type === 'failed')).toHaveLength(1); // not before the deadline
    expect(sent.job.jobDispatcherErrorCode).toBe(102);
    expect(sent.job.jobDispatcherErrorDiag).toBe(
      "Sent job didn't receive reply from pilot within 30 min",
    );
    const lost = run(newJob(), [acquire(T0), update('running', T0 + 50), dog(T0 + 251)]).job;
    expect(lost.jobDispatcherErrorCode).toBe(100);
    expect(lost.jobDispatcherErrorDiag).toBe('lost heartbeat : 2026-01-01 12:00:00');
    const holding = run(newJob(), [acquire(T0), update('holding', T0 + 1), dog(T0 + 302)]).job;
    expect(holding.status).toBe('failed');
    expect(holding.jobDispatcherErrorCode).toBe(103);
  });

  it('refuses an update with another non-numeric batchID with tobekilled and supErrorCode 1', () => {
    const { job, outcomes } = run(newJob(), [
      acquire(),
      update('running', T0 + 2, { columns: { batchID: 'gc-task-a' } }),
      update('running', T0 + 3, { columns: { batchID: 'gc-task-b' } }),
    ]);
    expect(commandOf(outcomes[2])).toBe('tobekilled');
    expect(job.supErrorCode).toBe(1);
    expect(job.reported.batchID).toBe('gc-task-a');
  });

  it('refuses set_command on a job already being killed', () => {
    const running = run(newJob(), [acquire(), update('running', T0 + 2)]).job;
    const set = transition(running, { type: 'set-command', atMs: T0 + 3, command: 'debug' });
    expect(set.outcome).toMatchObject({ ok: true });
    expect(commandOf(transition(set.job, update('running', T0 + 4)).outcome)).toBe('debug');
    const killed = transition(running, {
      type: 'kill',
      atMs: T0 + 3,
      code: null,
      user: 'u',
      jobSubStatus: null,
    }).job;
    expect(
      transition(killed, { type: 'set-command', atMs: T0 + 4, command: 'debug' }).outcome,
    ).toMatchObject({ ok: false });
  });
});
