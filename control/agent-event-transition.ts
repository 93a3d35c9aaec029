/**
 * How one agent event moves a record (docs/protocol.md, Job events): part of the pure job
 * transition (job-transition.ts). `seq` is the event's rank; an event from another endpoint, of
 * a final or unbound record, or of a lower rank is ignored, and one of the same rank is a
 * duplicate — except heartbeats, which only refresh the usage.
 */
import type { JobEvent } from '../shared/gen/pgc/v1/events.js';
import { EVENT_RANK } from '../shared/job-events.js';
import { BOUND_STATES, isFinal, type JobRecord, JobState, stateName } from './job-record.js';
import {
  done,
  type Effect,
  ignore,
  kill,
  move,
  progress,
  type Transition,
} from './transition-kit.js';

export function applyAgentEvent(record: JobRecord, event: JobEvent, at: number): Transition {
  const body = event.body;
  if (body === undefined) return ignore(record, 'the event has no body');
  if (event.key?.pandaId !== record.key.pandaId || event.key.attemptNr !== record.key.attemptNr)
    return ignore(record, 'the event is of another attempt');
  if (isFinal(record.state)) return ignore(record, `the record is ${stateName(record.state)}`);
  if (!BOUND_STATES.has(record.state)) return ignore(record, 'the record is not bound');
  if (event.endpointId !== record.endpointId)
    return ignore(record, `the attempt is bound to ${record.endpointId}, not ${event.endpointId}`);
  const rank = EVENT_RANK[body.$case];
  if (rank < record.rank) return ignore(record, `${body.$case} would move the record backwards`);
  if (rank === record.rank && body.$case !== 'heartbeat')
    return ignore(record, `${body.$case} was applied already`);
  // An event from the agent proves it holds the attempt, whatever became of the ack.
  const base = { rank, ackMissing: undefined };
  // A kill sent while the dispatch was in flight may have reached the agent before the dispatch
  // and been ignored there (it did not hold the attempt yet): send it again now that it does.
  const rekill: Effect[] =
    record.state === JobState.DISPATCHED && record.killReason !== undefined
      ? [kill(record, record.killReason, 'killed while it was being dispatched', '.again')]
      : [];
  let next: JobRecord;
  switch (body.$case) {
    case 'accepted':
      next = move(
        record,
        JobState.ACCEPTED,
        at,
        'accepted',
        `accepted by ${record.endpointId}`,
        base,
      );
      break;
    case 'staging':
      next = move(record, JobState.STAGING, at, 'staging', body.staging.message || 'staging', base);
      break;
    case 'running':
    case 'heartbeat': {
      const usage = body.$case === 'heartbeat' ? body.heartbeat.usage : record.usage;
      // A heartbeat of a running job: the usage moves, the history does not grow.
      if (record.state === JobState.RUNNING) return done({ ...record, usage, updatedAtMs: at });
      const pid = body.$case === 'running' ? ` (pid ${body.running.pid})` : '';
      next = move(record, JobState.RUNNING, at, 'running', `payload started${pid}`, {
        ...base,
        startedAtMs: event.atMs || at,
        usage,
      });
      break;
    }
    case 'finishing':
      // PanDA keeps seeing `running` until the result: it has no state for collecting outputs.
      next = move(
        record,
        JobState.FINISHING,
        at,
        'finishing',
        'payload ended; collecting outputs',
        base,
      );
      return done(next, rekill);
    case 'result': {
      const failure = body.result.failure;
      const state = failure === undefined ? JobState.FINISHED : JobState.FAILED;
      next = move(record, state, at, stateName(state), failure?.message ?? 'finished', {
        ...base,
        result: body.result,
        failure,
        usage: body.result.usage ?? record.usage,
      });
      return done(next, [{ type: 'report', what: 'final' }]);
    }
  }
  next = { ...next, lastReportAtMs: at };
  return done(next, [...progress(next), ...rekill]);
}
