/**
 * The one pure transition of a job record (HOUSE_STYLE: a closed union, an exhaustive switch,
 * every move appended to the history as `{type, at, message}`), with the effects the caller
 * persists together with the record: PanDA updates for the outbox and kill commands.
 *
 *   acquired ─▶ queued ─dispatch─▶ dispatched ─ack accepted─▶ accepted ─▶ staging ─▶ running ─▶ finishing
 *                 ▲ ◀─rejected / not held / unsent─┘ (or any agent event)                        │
 *                 │                                                     result ─▶ finished | failed
 *   untranslatable ─▶ failed          kill before dispatch ─▶ cancelled (PanDA's kill: no update;
 *                                                              an operator's: reported failed/1205)
 *   any bound state ─lease expired, or accepted+ and not held by the agent─▶ failed (LOST)
 *   final ─PanDA acknowledged the final update─▶ reported
 *
 * A missing ack keeps the attempt bound (docs/protocol.md §4): never two live dispatches of one
 * attempt. Agent events are applied in agent-event-transition.ts.
 */
import { FailureCode } from '../shared/errors.js';
import { KillReason } from '../shared/gen/pgc/v1/common.js';
import { applyAgentEvent } from './agent-event-transition.js';
import { BOUND_STATES, isFinal, type JobRecord, JobState, stateName } from './job-record.js';
import {
  cancel,
  done,
  ignore,
  kill,
  lost,
  move,
  progress,
  type RecordEvent,
  type Transition,
  unbind,
} from './transition-kit.js';

export {
  acquiredRecord,
  type Effect,
  killCommandId,
  type RecordEvent,
  type ReportKind,
  type Transition,
  untranslatableRecord,
} from './transition-kit.js';

const isBound = (record: JobRecord, endpointId: string): boolean =>
  record.endpointId === endpointId && BOUND_STATES.has(record.state);

export function transition(record: JobRecord, e: RecordEvent): Transition {
  const { at } = e;
  switch (e.type) {
    case 'dispatch':
      if (record.state !== JobState.QUEUED || record.spec === undefined)
        return ignore(record, `cannot dispatch a ${stateName(record.state)} record`);
      return done(
        move(record, JobState.DISPATCHED, at, 'dispatched', `dispatched to ${e.endpointId}`, {
          endpointId: e.endpointId,
          dispatchId: e.dispatchId,
          dispatchedAtMs: at,
          ackMissing: undefined,
        }),
      );
    case 'dispatch-unsent':
    case 'ack-rejected':
    case 'ack-timeout':
    case 'ack-accepted':
      if (record.state !== JobState.DISPATCHED || record.dispatchId !== e.dispatchId)
        return ignore(record, `${e.type} of dispatch ${e.dispatchId}, which is not current`);
      switch (e.type) {
        case 'dispatch-unsent':
          return unbind(record, at, 'the dispatch could not be sent');
        case 'ack-rejected':
          return unbind(record, at, `rejected by ${e.endpointId}: ${e.reason}`);
        case 'ack-timeout': {
          const message = 'no ack in time; the attempt stays bound until the agent reconciles';
          return done(move(record, record.state, at, 'ack-missing', message, { ackMissing: true }));
        }
        case 'ack-accepted':
          return applyAgentEvent(
            record,
            {
              endpointId: e.endpointId,
              key: record.key,
              seq: 1,
              atMs: at,
              body: { $case: 'accepted', accepted: {} },
            },
            at,
          );
      }
      break;
    case 'agent-event':
      return applyAgentEvent(record, e.event, at);
    case 'not-held':
      if (!isBound(record, e.endpointId)) return ignore(record, `not bound to ${e.endpointId}`);
      if (record.state === JobState.DISPATCHED)
        return unbind(record, at, `${e.endpointId} does not hold it: the dispatch was lost`);
      return done(
        move(record, JobState.FAILED, at, 'failed', `${e.endpointId} no longer holds the attempt`, {
          failure: lost(`endpoint ${e.endpointId} lost the attempt (its journal does not list it)`),
        }),
        [{ type: 'report', what: 'failed' }],
      );
    case 'lease-expired': {
      if (!isBound(record, e.endpointId)) return ignore(record, `not bound to ${e.endpointId}`);
      const message = `endpoint lost: ${e.endpointId} stayed disconnected past its lease`;
      return done(
        move(record, JobState.FAILED, at, 'failed', message, { failure: lost(message) }),
        [kill(record, KillReason.FENCE, message), { type: 'report', what: 'failed' }],
      );
    }
    case 'kill-requested':
      if (isFinal(record.state)) return ignore(record, `the job is ${stateName(record.state)}`);
      if (record.state === JobState.QUEUED)
        return cancel(record, at, `${e.message} before it was dispatched`, e.reason);
      if (record.killReason !== undefined) return ignore(record, 'a kill was requested already');
      return done(
        move(record, record.state, at, 'kill-requested', e.message, { killReason: e.reason }),
        [kill(record, e.reason, e.message)],
      );
    case 'heartbeat-due':
      if (!BOUND_STATES.has(record.state) || record.state === JobState.DISPATCHED)
        return ignore(record, `no heartbeat for a ${stateName(record.state)} record`);
      return done({ ...record, lastReportAtMs: at }, progress(record));
    case 'undeliverable':
      if (isFinal(record.state)) return ignore(record, 'the record is final');
      return done(
        move(record, JobState.FAILED, at, 'failed', e.message, {
          failure: { code: FailureCode.UNDELIVERABLE_RESULT, message: e.message, retryable: false },
        }),
        [{ type: 'report', what: 'failed' }],
      );
    case 'report-refused':
      return done(move(record, record.state, at, 'report-refused', e.message));
    case 'reported':
      if (!isFinal(record.state) || record.reported) return ignore(record, 'nothing to report');
      return done(move(record, record.state, at, 'reported', e.message, { reported: true }));
  }
  return unknownEvent(e);
}

function unknownEvent(e: never): never {
  throw new Error(`unknown record event ${JSON.stringify(e)}`);
}
