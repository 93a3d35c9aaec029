/**
 * Admin.Kill: an operator's kill of each job named (issue #6). It goes through the one job
 * transition (ControlPlane.requestKill with KillReason.OPERATOR): a job not yet dispatched is
 * cancelled here and PanDA is told (failed, 1205, job_sub_status=cancelled); a bound one gets a
 * KillJob on its endpoint's command subject, delivered when the agent is connected. Unknown and
 * finished jobs are a harmless no-op with an outcome saying so.
 */

import { ValidationError } from '../../shared/errors.js';
import {
  type KillOutcome,
  type KillRequest,
  type KillResponse,
  KillResult,
} from '../../shared/gen/pgc/v1/admin.js';
import { type JobKey, KillReason } from '../../shared/gen/pgc/v1/common.js';
import { validatePandaId } from '../../shared/ids.js';
import { isFinal, type JobRecord, JobState, stateName } from '../job-record.js';
import type { Transition } from '../job-transition.js';

/** At most this many ids in one call, so one request cannot hold the store for long. */
export const MAX_KILL_IDS = 1000;

export interface KillDeps {
  findJob: (pandaId: number) => Promise<JobRecord | undefined>;
  requestKill: (
    key: JobKey,
    reason: KillReason,
    message: string,
  ) => Promise<Transition | undefined>;
}

export async function killJobs(request: KillRequest, deps: KillDeps): Promise<KillResponse> {
  if (request.pandaIds.length === 0) throw new ValidationError('name at least one job to kill');
  if (request.pandaIds.length > MAX_KILL_IDS)
    throw new ValidationError(`at most ${MAX_KILL_IDS} jobs per call`);
  const ids = request.pandaIds.map((id) => validatePandaId(id));
  const reason = request.reason.trim() === '' ? 'no reason given' : request.reason.trim();
  const message = `killed by an operator: ${reason}`;
  const outcomes: KillOutcome[] = [];
  for (const pandaId of new Set(ids)) outcomes.push(await killOne(pandaId, message, deps));
  return { outcomes };
}

async function killOne(pandaId: number, message: string, deps: KillDeps): Promise<KillOutcome> {
  const outcome = (result: KillResult, text: string): KillOutcome => ({
    pandaId,
    result,
    message: text,
  });
  const record = await deps.findJob(pandaId);
  if (record === undefined) return outcome(KillResult.UNKNOWN, `no job ${pandaId}`);
  if (isFinal(record.state))
    return outcome(
      KillResult.ALREADY_FINAL,
      `job ${pandaId} is ${stateName(record.state)} already`,
    );
  const t = await deps.requestKill(record.key, KillReason.OPERATOR, message);
  const now = t?.record ?? record;
  if (t === undefined || isFinal(now.state)) {
    if (t?.applied && now.state === JobState.CANCELLED)
      return outcome(
        KillResult.CANCELLED,
        `job ${pandaId} was not dispatched yet: cancelled, and PanDA is told`,
      );
    return outcome(KillResult.ALREADY_FINAL, `job ${pandaId} is ${stateName(now.state)} already`);
  }
  if (!t.applied)
    return outcome(KillResult.REQUESTED, `a kill of job ${pandaId} was requested already`);
  return outcome(
    KillResult.REQUESTED,
    `a kill of job ${pandaId} is on its way to ${now.endpointId}`,
  );
}
