/**
 * Asks PanDA for the status of every job the control plane still works on (job/get_status,
 * default every 30 s) so a kill in PanDA is seen within seconds, not at the next heartbeat
 * (Harvester does the same for heartbeat-suppressed jobs, reference §3.2). A `tobekilled`
 * command becomes a kill request; so does a job PanDA has already ended on its own (its `sent`
 * or heartbeat watchdog failed it): nobody waits for its result any more.
 */
import type { JobKey } from '../shared/gen/pgc/v1/common.js';
import type { Logger } from '../shared/logger.js';
import type { ControlStore } from './control-store.js';
import { isFinal } from './job-record.js';
import type { PandaClient } from './panda/client.js';
import type { JobStatusReply } from './panda/wire-types.js';

/** PanDA ids per get_status call: the ids travel in the query string. */
export const STATUS_BATCH = 100;

// Final in PanDA; `finished` is not among them: only our own final update leads there.
const ENDED_IN_PANDA: ReadonlySet<string> = new Set(['failed', 'cancelled', 'closed']);

/** Does this status of a job we still work on mean PanDA wants it gone? Pure. */
export function wantsKill(reply: JobStatusReply): boolean {
  return (
    reply.command?.split(',').includes('tobekilled') === true || ENDED_IN_PANDA.has(reply.status)
  );
}

export async function pollStatuses(
  store: ControlStore,
  panda: PandaClient,
  onKill: (key: JobKey, message: string) => void,
  log: Logger,
  signal: AbortSignal,
): Promise<void> {
  const keys = store
    .active()
    .filter((r) => !isFinal(r.state))
    .map((r) => r.key);
  for (let i = 0; i < keys.length && !signal.aborted; i += STATUS_BATCH) {
    const chunk = keys.slice(i, i + STATUS_BATCH);
    const statuses = await panda.getStatus(
      chunk.map((k) => k.pandaId),
      signal,
    );
    for (const [j, s] of statuses.entries()) {
      const key = chunk[j];
      if (key === undefined || !wantsKill(s)) continue;
      log.info({ pandaId: key.pandaId, status: s.status }, 'PanDA wants this job killed');
      onKill(key, `PanDA has it ${s.status}${s.command ? ` (${s.command})` : ''}`);
    }
  }
}
