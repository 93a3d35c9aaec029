import { describe, expect, it } from 'vitest';
import { BOUND_STATES, type JobRecord, JobState } from '../../../control/job-record.js';
import {
  type RecordEvent,
  transition,
  untranslatableRecord,
} from '../../../control/job-transition.js';
import { FailureCode } from '../../../shared/errors.js';
import { KillReason } from '../../../shared/gen/pgc/v1/common.js';
import type { JobEvent } from '../../../shared/gen/pgc/v1/events.js';
import type { JobResult, JobSpec } from '../../../shared/gen/pgc/v1/job.js';

const KEY = { pandaId: 101, attemptNr: 2 };
const AT = 5_000;

const SPEC: JobSpec = {
  key: KEY,
  queue: 'Q',
  payload: { $case: 'command', command: { command: 'true' } },
  sandbox: undefined,
  inputs: [],
  outputs: [],
  log: undefined,
  limits: { cores: 2, memoryMb: 100, walltimeS: 0, killGraceMs: 0 },
  env: {},
  taskId: 1,
  jobName: 'j',
  runDir: '',
};

const RANK: Record<JobState, number> = {
  [JobState.UNSPECIFIED]: 0,
  [JobState.QUEUED]: 0,
  [JobState.DISPATCHED]: 0,
  [JobState.ACCEPTED]: 1,
  [JobState.STAGING]: 2,
  [JobState.RUNNING]: 3,
  [JobState.FINISHING]: 4,
  [JobState.FINISHED]: 5,
  [JobState.FAILED]: 5,
  [JobState.CANCELLED]: 0,
  [JobState.UNRECOGNIZED]: 0,
};

function recordIn(state: JobState, patch: Partial<JobRecord> = {}): JobRecord {
  const bound = BOUND_STATES.has(state);
  return {
    key: KEY,
    queue: 'Q',
    state,
    spec: SPEC,
    rank: RANK[state],
    reported: false,
    ...(bound ? { endpointId: 'ep1', dispatchId: 'd1', dispatchedAtMs: 1 } : {}),
    createdAtMs: 0,
    updatedAtMs: 0,
    history: [],
    ...patch,
  };
}

const RESULT: JobResult = {
  key: KEY,
  exitCode: 0,
  signal: '',
  failure: undefined,
  killReason: KillReason.UNSPECIFIED,
  usage: { cpuTimeMs: 1, wallTimeMs: 2, maxRssBytes: 3 },
  returnValueJson: '',
  outputs: [],
  log: undefined,
  startedAtMs: 1,
  endedAtMs: 2,
  errorDiag: '',
};

function agent(body: NonNullable<JobEvent['body']>, endpointId = 'ep1', key = KEY): RecordEvent {
  return { type: 'agent-event', at: AT, event: { endpointId, key, seq: 0, atMs: 4000, body } };
}

const EVENTS: Record<string, RecordEvent> = {
  dispatch: { type: 'dispatch', at: AT, endpointId: 'ep2', dispatchId: 'd2' },
  'dispatch-unsent': { type: 'dispatch-unsent', at: AT, dispatchId: 'd1' },
  'ack-accepted': { type: 'ack-accepted', at: AT, endpointId: 'ep1', dispatchId: 'd1' },
  'ack-rejected': {
    type: 'ack-rejected',
    at: AT,
    endpointId: 'ep1',
    dispatchId: 'd1',
    reason: 'full',
  },
  'ack-timeout': { type: 'ack-timeout', at: AT, dispatchId: 'd1' },
  'not-held': { type: 'not-held', at: AT, endpointId: 'ep1' },
  accepted: agent({ $case: 'accepted', accepted: {} }),
  staging: agent({ $case: 'staging', staging: { message: 'fetching' } }),
  running: agent({ $case: 'running', running: { pid: 7 } }),
  heartbeat: agent({
    $case: 'heartbeat',
    heartbeat: { usage: { cpuTimeMs: 9, wallTimeMs: 9, maxRssBytes: 9 } },
  }),
  finishing: agent({ $case: 'finishing', finishing: {} }),
  result: agent({ $case: 'result', result: RESULT }),
  'lease-expired': { type: 'lease-expired', at: AT, endpointId: 'ep1' },
  'kill-requested': {
    type: 'kill-requested',
    at: AT,
    reason: KillReason.PANDA,
    message: 'killed in PanDA',
  },
  'heartbeat-due': { type: 'heartbeat-due', at: AT },
  undeliverable: { type: 'undeliverable', at: AT, message: 'poison' },
  'report-refused': { type: 'report-refused', at: AT, message: 'Argument error' },
  reported: { type: 'reported', at: AT, message: 'PanDA acknowledged' },
};

const STATES = [
  JobState.QUEUED,
  JobState.DISPATCHED,
  JobState.ACCEPTED,
  JobState.STAGING,
  JobState.RUNNING,
  JobState.FINISHING,
  JobState.FINISHED,
  JobState.FAILED,
  JobState.CANCELLED,
];
const S: Record<string, JobState> = {
  Q: JobState.QUEUED,
  D: JobState.DISPATCHED,
  A: JobState.ACCEPTED,
  S: JobState.STAGING,
  R: JobState.RUNNING,
  F: JobState.FINISHING,
  FI: JobState.FINISHED,
  FA: JobState.FAILED,
  C: JobState.CANCELLED,
};

// The state after each event, from each state; '-' = ignored, record unchanged.
// biome-ignore format: the table reads as a table
const MATRIX: Record<string, string[]> = {
  //                   Q     D     A     S     R     F     FI    FA    C
  dispatch:           ['D',  '-',  '-',  '-',  '-',  '-',  '-',  '-',  '-'],
  'dispatch-unsent':  ['-',  'Q',  '-',  '-',  '-',  '-',  '-',  '-',  '-'],
  'ack-accepted':     ['-',  'A',  '-',  '-',  '-',  '-',  '-',  '-',  '-'],
  'ack-rejected':     ['-',  'Q',  '-',  '-',  '-',  '-',  '-',  '-',  '-'],
  'ack-timeout':      ['-',  'D',  '-',  '-',  '-',  '-',  '-',  '-',  '-'],
  'not-held':         ['-',  'Q',  'FA', 'FA', 'FA', 'FA', '-',  '-',  '-'],
  accepted:           ['-',  'A',  '-',  '-',  '-',  '-',  '-',  '-',  '-'],
  staging:            ['-',  'S',  'S',  '-',  '-',  '-',  '-',  '-',  '-'],
  running:            ['-',  'R',  'R',  'R',  '-',  '-',  '-',  '-',  '-'],
  heartbeat:          ['-',  'R',  'R',  'R',  'R',  '-',  '-',  '-',  '-'],
  finishing:          ['-',  'F',  'F',  'F',  'F',  '-',  '-',  '-',  '-'],
  result:             ['-',  'FI', 'FI', 'FI', 'FI', 'FI', '-',  '-',  '-'],
  'lease-expired':    ['-',  'FA', 'FA', 'FA', 'FA', 'FA', '-',  '-',  '-'],
  'kill-requested':   ['C',  'D',  'A',  'S',  'R',  'F',  '-',  '-',  '-'],
  'heartbeat-due':    ['-',  '-',  'A',  'S',  'R',  'F',  '-',  '-',  '-'],
  undeliverable:      ['FA', 'FA', 'FA', 'FA', 'FA', 'FA', '-',  '-',  '-'],
  'report-refused':   ['Q',  'D',  'A',  'S',  'R',  'F',  'FI', 'FA', 'C'],
  reported:           ['-',  '-',  '-',  '-',  '-',  '-',  'FI', 'FA', 'C'],
};

describe('transition, every state × event', () => {
  for (const [name, row] of Object.entries(MATRIX)) {
    for (const [i, state] of STATES.entries()) {
      const expected = row[i] as string;
      it(`${name} in ${JobState[state]} → ${expected === '-' ? 'ignored' : JobState[S[expected] as JobState]}`, () => {
        const before = recordIn(state);
        const result = transition(before, EVENTS[name] as RecordEvent);
        if (expected === '-') {
          expect(result.applied).toBe(false);
          expect(result.why).toBeTruthy();
          expect(result.record).toBe(before);
          expect(result.effects).toEqual([]);
        } else {
          expect(result.applied).toBe(true);
          expect(result.record.state).toBe(S[expected]);
        }
      });
    }
  }
});

describe('transition, what each move records and asks for', () => {
  const types = (effects: { type: string }[]) => effects.map((e) => e.type);

  it('dispatch binds the attempt and appends {type, at, message} to the history', () => {
    const { record } = transition(recordIn(JobState.QUEUED), EVENTS.dispatch as RecordEvent);
    expect(record).toMatchObject({
      endpointId: 'ep2',
      dispatchId: 'd2',
      dispatchedAtMs: AT,
      updatedAtMs: AT,
    });
    expect(record.history).toEqual([{ type: 'dispatched', at: AT, message: 'dispatched to ep2' }]);
  });

  it('a queued record without a spec is never dispatched', () => {
    const result = transition(
      recordIn(JobState.QUEUED, { spec: undefined }),
      EVENTS.dispatch as RecordEvent,
    );
    expect(result.applied).toBe(false);
  });

  it('an ack of another dispatch is ignored', () => {
    const result = transition(recordIn(JobState.DISPATCHED), {
      ...(EVENTS['ack-accepted'] as RecordEvent),
      dispatchId: 'old',
    } as RecordEvent);
    expect(result.applied).toBe(false);
  });

  it('accepted reports starting; running reports running with the start time; the result reports final', () => {
    const accepted = transition(
      recordIn(JobState.DISPATCHED),
      EVENTS['ack-accepted'] as RecordEvent,
    );
    expect(accepted.effects).toEqual([{ type: 'report', what: 'starting' }]);
    expect(accepted.record.lastReportAtMs).toBe(AT);
    const running = transition(accepted.record, EVENTS.running as RecordEvent);
    expect(running.effects).toEqual([{ type: 'report', what: 'running' }]);
    expect(running.record.startedAtMs).toBe(4000);
    const done = transition(running.record, EVENTS.result as RecordEvent);
    expect(done.effects).toEqual([{ type: 'report', what: 'final' }]);
    expect(done.record.result).toBe(RESULT);
    expect(done.record.failure).toBeUndefined();
  });

  it('a failed result makes the record failed with the failure', () => {
    const failure = { code: FailureCode.NONZERO_EXIT, message: 'exit 2', retryable: false };
    const result = transition(
      recordIn(JobState.RUNNING),
      agent({ $case: 'result', result: { ...RESULT, failure } }),
    );
    expect(result.record.state).toBe(JobState.FAILED);
    expect(result.record.failure).toBe(failure);
  });

  it('a heartbeat of a running job refreshes the usage and nothing else', () => {
    const before = recordIn(JobState.RUNNING, {
      history: [{ type: 'running', at: 1, message: 'x' }],
    });
    const result = transition(before, EVENTS.heartbeat as RecordEvent);
    expect(result.applied).toBe(true);
    expect(result.effects).toEqual([]);
    expect(result.record.usage?.cpuTimeMs).toBe(9);
    expect(result.record.history).toHaveLength(1);
  });

  it('ignores events of another endpoint, of another attempt, duplicates and backward moves', () => {
    const running = recordIn(JobState.RUNNING);
    expect(transition(running, agent({ $case: 'finishing', finishing: {} }, 'ep9')).why).toContain(
      'bound to ep1',
    );
    expect(
      transition(
        running,
        agent({ $case: 'finishing', finishing: {} }, 'ep1', { pandaId: 101, attemptNr: 1 }),
      ).why,
    ).toContain('another attempt');
    expect(transition(running, EVENTS.running as RecordEvent).why).toContain('applied already');
    expect(transition(running, EVENTS.staging as RecordEvent).why).toContain('backwards');
  });

  it('the lease fences the attempt and reports it failed LOST', () => {
    const { record, effects } = transition(
      recordIn(JobState.RUNNING),
      EVENTS['lease-expired'] as RecordEvent,
    );
    expect(record.failure?.code).toBe(FailureCode.LOST);
    expect(record.failure?.message).toContain('endpoint lost');
    expect(effects).toEqual([
      expect.objectContaining({
        type: 'kill',
        endpointId: 'ep1',
        reason: KillReason.FENCE,
        commandId: 'kill.fence.ep1.0000000000000101.0002',
      }),
      { type: 'report', what: 'failed' },
    ]);
  });

  it('an agent that lost an accepted attempt makes it failed LOST; a lost dispatch is queued again', () => {
    const lost = transition(recordIn(JobState.ACCEPTED), EVENTS['not-held'] as RecordEvent);
    expect(lost.record.failure?.code).toBe(FailureCode.LOST);
    expect(types(lost.effects)).toEqual(['report']);
    const requeued = transition(
      recordIn(JobState.DISPATCHED, { ackMissing: true }),
      EVENTS['not-held'] as RecordEvent,
    );
    expect(requeued.record).toMatchObject({
      state: JobState.QUEUED,
      endpointId: undefined,
      dispatchId: undefined,
      ackMissing: undefined,
    });
    expect(
      transition(recordIn(JobState.ACCEPTED), { type: 'not-held', at: AT, endpointId: 'ep2' })
        .applied,
    ).toBe(false);
  });

  it('a missing ack keeps the attempt bound and marks it', () => {
    const { record, effects } = transition(
      recordIn(JobState.DISPATCHED),
      EVENTS['ack-timeout'] as RecordEvent,
    );
    expect(record).toMatchObject({
      state: JobState.DISPATCHED,
      endpointId: 'ep1',
      ackMissing: true,
    });
    expect(effects).toEqual([]);
  });

  it('a kill of a queued job cancels it with nothing to report; of a bound one sends a KillJob once', () => {
    const cancelled = transition(
      recordIn(JobState.QUEUED),
      EVENTS['kill-requested'] as RecordEvent,
    );
    expect(cancelled.record).toMatchObject({ state: JobState.CANCELLED, reported: true });
    expect(cancelled.effects).toEqual([]);
    const killed = transition(recordIn(JobState.RUNNING), EVENTS['kill-requested'] as RecordEvent);
    expect(killed.record.killReason).toBe(KillReason.PANDA);
    expect(killed.effects).toEqual([
      {
        type: 'kill',
        endpointId: 'ep1',
        reason: KillReason.PANDA,
        message: 'killed in PanDA',
        commandId: 'kill.panda.ep1.0000000000000101.0002',
      },
    ]);
    expect(transition(killed.record, EVENTS['kill-requested'] as RecordEvent).applied).toBe(false);
  });

  it('a job killed while being dispatched is cancelled if the agent never took it, killed again if it did', () => {
    const killed = recordIn(JobState.DISPATCHED, { killReason: KillReason.PANDA });
    for (const name of ['ack-rejected', 'not-held', 'dispatch-unsent']) {
      const { record } = transition(killed, EVENTS[name] as RecordEvent);
      expect(record).toMatchObject({ state: JobState.CANCELLED, reported: true });
    }
    const accepted = transition(killed, EVENTS['ack-accepted'] as RecordEvent);
    expect(accepted.effects.map((e) => (e.type === 'kill' ? e.commandId : e.type))).toEqual([
      'report',
      'kill.panda.ep1.0000000000000101.0002.again',
    ]);
  });

  it('heartbeats report starting before the payload runs and running after', () => {
    expect(
      transition(recordIn(JobState.STAGING), EVENTS['heartbeat-due'] as RecordEvent).effects,
    ).toEqual([{ type: 'report', what: 'starting' }]);
    const running = transition(
      recordIn(JobState.FINISHING),
      EVENTS['heartbeat-due'] as RecordEvent,
    );
    expect(running.effects).toEqual([{ type: 'report', what: 'running' }]);
    expect(running.record.lastReportAtMs).toBe(AT);
  });

  it('reported happens once, for final records only', () => {
    const first = transition(recordIn(JobState.FINISHED), EVENTS.reported as RecordEvent);
    expect(first.record.reported).toBe(true);
    expect(transition(first.record, EVENTS.reported as RecordEvent).applied).toBe(false);
  });

  it('keeps the history bounded', () => {
    let record = recordIn(JobState.RUNNING);
    for (let i = 0; i < 300; i++)
      record = transition(record, EVENTS['report-refused'] as RecordEvent).record;
    expect(record.history).toHaveLength(200);
  });

  it('an untranslatable job is failed at once and reported', () => {
    const failure = { code: FailureCode.BAD_JOB, message: 'no -p', retryable: false };
    const { record, effects } = untranslatableRecord(KEY, 'Q', failure, AT);
    expect(record).toMatchObject({ state: JobState.FAILED, failure, reported: false });
    expect(effects).toEqual([{ type: 'report', what: 'failed' }]);
  });
});
