/**
 * Reconcile rules (docs/protocol.md, "Reconcile rules"), pure: the agent's journal (from Hello or
 * Reconcile) against the records bound to its endpoint.
 * - dispatched here, not held → the dispatch was lost: queued again. On a Reconcile only
 *   dispatches whose ack went missing count: a dispatch still waiting for its ack may be in the
 *   agent's hands right now, and queueing it again could run it twice.
 * - accepted…finishing here, not held → the agent lost it: failed LOST. The caller applies these
 *   only once the event consumer has caught up with the stream as it was when the journal was
 *   read: an agent forgets an attempt only after JetStream took its result, and that result must
 *   win over "lost".
 * - held and active on the agent (accepted, staging, running) but unknown here, final, or bound
 *   elsewhere → fence it: the agent must not run what nobody waits for.
 */
import type { JobKey } from '../shared/gen/pgc/v1/common.js';
import { type AttemptState, LocalJobState } from '../shared/gen/pgc/v1/gateway.js';
import { isFinal, type JobRecord, JobState, recordId } from './job-record.js';

export type ReconcileMode = 'hello' | 'reconcile';

export interface ReconcilePlan {
  requeue: JobKey[];
  lost: JobKey[];
  fence: JobKey[];
}

const ACTIVE_ON_AGENT: ReadonlySet<LocalJobState> = new Set([
  LocalJobState.ACCEPTED,
  LocalJobState.STAGING,
  LocalJobState.RUNNING,
]);

export function planReconcile(
  endpointId: string,
  held: readonly AttemptState[],
  bound: readonly JobRecord[],
  lookup: (id: string) => JobRecord | undefined,
  mode: ReconcileMode,
): ReconcilePlan {
  const heldIds = new Set(held.flatMap((a) => (a.key ? [recordId(a.key)] : [])));
  const plan: ReconcilePlan = { requeue: [], lost: [], fence: [] };
  for (const record of bound) {
    if (record.endpointId !== endpointId || heldIds.has(recordId(record.key))) continue;
    if (record.state === JobState.DISPATCHED) {
      if (mode === 'hello' || record.ackMissing) plan.requeue.push(record.key);
    } else if (!isFinal(record.state) && record.state !== JobState.QUEUED) {
      plan.lost.push(record.key);
    }
  }
  for (const attempt of held) {
    if (attempt.key === undefined || !ACTIVE_ON_AGENT.has(attempt.state)) continue;
    const record = lookup(recordId(attempt.key));
    if (record === undefined || isFinal(record.state) || record.endpointId !== endpointId)
      plan.fence.push(attempt.key);
  }
  return plan;
}
