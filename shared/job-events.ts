/**
 * The order of a job attempt's events and their dedup ids, shared by the agent that publishes
 * them and the control plane that applies them. State events have one id per attempt, so a
 * re-emitted `running` after an agent restart is dropped by JetStream as a duplicate (and is
 * harmless if it lands after the window); heartbeats carry their time.
 */
import type { JobEvent } from './gen/pgc/v1/events.js';
import { messageIds } from './nats/subjects.js';

export type JobEventCase = NonNullable<JobEvent['body']>['$case'];

export const EVENT_RANK: Readonly<Record<JobEventCase, number>> = {
  accepted: 1,
  staging: 2,
  running: 3,
  heartbeat: 3,
  finishing: 4,
  result: 5,
};

/** The Nats-Msg-Id of an event. */
export function eventMessageId(event: JobEvent): string {
  const key = event.key ?? { pandaId: 0, attemptNr: 0 };
  const what = event.body?.$case ?? 'unknown';
  return messageIds.event(key, what === 'heartbeat' ? `heartbeat.${event.atMs}` : what);
}
