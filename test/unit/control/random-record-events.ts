/**
 * Random but plausible record events, for property tests of what is derived from records (the
 * store's bound and queued indexes). Events are drawn so that most of them apply: dispatches to
 * a few endpoints, acks of the current dispatch, agent events from the bound endpoint, losses,
 * kills and reports. Deterministic for a seed.
 */
import { BOUND_STATES, type JobRecord, recordId } from '../../../control/job-record.js';
import type { RecordEvent } from '../../../control/job-transition.js';
import { KillReason } from '../../../shared/gen/pgc/v1/common.js';
import type { JobSpec } from '../../../shared/gen/pgc/v1/job.js';

export const ENDPOINTS = ['ep-a', 'ep-b', 'ep-c'];

/** mulberry32: a small seeded generator, so a failing sequence can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function specOf(pandaId: number, cores: number, memoryMb: number): JobSpec {
  return {
    key: { pandaId, attemptNr: 1 },
    queue: 'Q',
    payload: { $case: 'command', command: { command: 'true' } },
    sandbox: undefined,
    inputs: [],
    outputs: [],
    log: undefined,
    limits: { cores, memoryMb, walltimeS: 0, killGraceMs: 0 },
    env: {},
    taskId: 1,
    jobName: `j${pandaId}`,
    runDir: '',
  };
}

const RESULT_BODY = (record: JobRecord, failed: boolean) => ({
  $case: 'result' as const,
  result: {
    key: record.key,
    exitCode: failed ? 1 : 0,
    signal: '',
    failure: failed ? { code: 1, message: 'exit 1', retryable: false } : undefined,
    killReason: 0,
    usage: undefined,
    returnValueJson: '',
    outputs: [],
    log: undefined,
    startedAtMs: 0,
    endedAtMs: 0,
    errorDiag: '',
  },
});

/** One event for `record`, at `at`; it may or may not apply (a real sequence has both). */
export function randomEvent(record: JobRecord, at: number, random: () => number): RecordEvent {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  // Mostly the bound endpoint, sometimes another: events from elsewhere must be ignored.
  const endpointId =
    record.endpointId !== undefined && random() < 0.8 ? record.endpointId : pick(ENDPOINTS);
  const dispatchId = record.dispatchId ?? `d${at}`;
  const agentEvent = (body: Extract<RecordEvent, { type: 'agent-event' }>['event']['body']) => ({
    type: 'agent-event' as const,
    at,
    event: { endpointId, key: record.key, seq: 0, atMs: at, body },
  });
  const choices: Array<() => RecordEvent> = [
    () => ({ type: 'dispatch', at, endpointId: pick(ENDPOINTS), dispatchId: `d${at}` }),
    () => ({ type: 'dispatch', at, endpointId: pick(ENDPOINTS), dispatchId: `d${at}` }),
    () => ({ type: 'ack-accepted', at, endpointId, dispatchId }),
    () => ({ type: 'ack-rejected', at, endpointId, dispatchId, reason: 'full' }),
    () => ({ type: 'dispatch-unsent', at, dispatchId }),
    () => ({ type: 'ack-timeout', at, dispatchId }),
    () => agentEvent({ $case: 'staging', staging: { message: '' } }),
    () => agentEvent({ $case: 'running', running: { pid: 7 } }),
    () => agentEvent({ $case: 'finishing', finishing: {} }),
    () => agentEvent(RESULT_BODY(record, random() < 0.3)),
    () => ({ type: 'not-held', at, endpointId }),
    () => ({ type: 'lease-expired', at, endpointId }),
    () => ({ type: 'kill-requested', at, reason: KillReason.OPERATOR, message: 'pgc kill' }),
    () => ({ type: 'reported', at, message: 'PanDA took it' }),
    () => ({ type: 'reported', at, message: 'PanDA took it' }),
  ];
  return pick(choices)();
}

/** What the indexes must equal: a full filter of the active records. */
export function boundByFilter(active: readonly JobRecord[], endpointId: string): string[] {
  return active
    .filter((r) => r.endpointId === endpointId && BOUND_STATES.has(r.state))
    .map((r) => recordId(r.key))
    .sort();
}
