/**
 * The pilot module of the v1 API (srv api/v1/pilot_api.py): acquire_jobs, update_job,
 * update_jobs_bulk and get_job_status. Arguments arrive bound and type-checked (signature.ts).
 */

import { UPDATE_JOB_PARAMS } from './api-signatures.js';
import { envelope } from './envelope.js';
import { PILOT_STATES, type PilotState } from './job-record.js';
import { dispatcherJob } from './job-spec.js';
import { type PilotUpdate, updateColumns } from './pilot-update.js';
import { pyRepr } from './py-format.js';
import { type PyDict, type PyValue, pyDict, pyTypeName, toPlain } from './py-value.js';
import { bindArguments } from './signature.js';
import type { SimCore } from './sim-core.js';

export type Args = ReadonlyMap<string, PyValue>;

/**
 * An int argument as a JS number; null for None. Ints beyond 2^53 become ±Infinity: they name no
 * job or attempt, and as a count or limit they mean "no limit".
 */
export function intArg(v: PyValue | undefined): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return v > 0n ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  return null;
}

// getJobs would happily hand out more, but one reply must stay bounded.
const MAX_JOBS_PER_ACQUIRE = 10_000;

export function acquireJobs(args: Args, sim: SimCore): PyDict {
  const site = args.get('site_name') as string;
  // Without a label the server's production path looks for `managed` jobs only.
  const label = (args.get('prod_source_label') as string | null) ?? 'managed';
  const wanted = Math.min(intArg(args.get('n_jobs')) ?? 1, MAX_JOBS_PER_ACQUIRE);
  const memoryMb = Math.max(0, intArg(args.get('memory')) ?? 0);
  const candidates = sim.store
    .dispatchable({ site, prodSourceLabel: label, taskId: intArg(args.get('task_id')), memoryMb })
    .slice(0, Math.max(0, wanted));
  if (candidates.length === 0) return envelope(false, 'No jobs in PanDA');

  const nSent = sim.store
    .all()
    .filter((j) => j.def.site === site && j.state.status === 'sent').length;
  const atMs = sim.now();
  const jobs: PyValue[] = [];
  for (const job of candidates) {
    sim.apply(job.def.pandaId, {
      type: 'acquire',
      atMs,
      node: (args.get('node') as string | null) ?? null,
      computingElement: (args.get('computing_element') as string | null) ?? null,
      schedulerId: (args.get('scheduler_id') as string | null) ?? null,
    });
    jobs.push(dispatcherJob(job.def, job.state.attemptNr, nSent));
  }
  const reply = envelope(true, '', pyDict({ StatusCode: 0, jobs }));
  const plain = { params: toPlain(new Map(args)), reply: toPlain(reply) };
  for (const job of candidates) {
    sim.recordJobCall(job.def.pandaId, { atMs, method: 'pilot/acquire_jobs', ...plain });
  }
  return reply;
}

export function updateJob(args: Args, sim: SimCore, method = 'pilot/update_job'): PyDict {
  const status = args.get('job_status') as string;
  if (!(PILOT_STATES as readonly string[]).includes(status)) {
    return envelope(false, `Invalid job status: ${status}`, pyDict({ StatusCode: 50 }));
  }
  const pandaId = intArg(args.get('job_id'));
  const atMs = sim.now();
  const update: PilotUpdate = {
    status: status as PilotState,
    attemptNr: intArg(args.get('attempt_nr')),
    columns: updateColumns(args),
    outputReport: args.get('job_output_report') as string,
  };
  const found = pandaId !== null && sim.store.get(pandaId) !== undefined;
  let command = 'tobekilled'; // not in the active table: the pilot must stop
  if (found) {
    const outcome = sim.apply(pandaId, { type: 'pilot-update', atMs, update });
    if (outcome.type === 'updated') {
      command = outcome.command;
      if (outcome.adder) sim.scheduleAdder(pandaId);
    }
  }
  const reply = envelope(true, '', pyDict({ StatusCode: 0, command }));
  if (found) {
    sim.recordJobCall(pandaId, {
      atMs,
      method,
      params: toPlain(new Map(args)),
      reply: toPlain(reply),
    });
  }
  return reply;
}

/** Python's TypeError text for `x["job_id"]` on a non-dict. */
function notSubscriptable(v: PyValue): string {
  if (Array.isArray(v)) return 'list indices must be integers or slices, not str';
  if (typeof v === 'string') return "string indices must be integers, not 'str'";
  return `'${pyTypeName(v)}' object is not subscriptable`;
}

/**
 * Loops update_job over job_list like the server: each element gets its own envelope (an
 * argument or type error fails only that element), but an element that is not a dict or lacks
 * job_id/job_status raises, and the whole reply becomes a failure with empty data, although the
 * elements before it were already applied (srv pilot_api.py::update_jobs_bulk).
 */
export function updateJobsBulk(args: Args, sim: SimCore): PyDict {
  const replies: PyValue[] = [];
  for (const element of args.get('job_list') as PyValue[]) {
    if (!(element instanceof Map)) {
      return envelope(false, `failed with TypeError ${notSubscriptable(element)}`, []);
    }
    for (const key of ['job_id', 'job_status']) {
      if (!element.has(key)) return envelope(false, `failed with KeyError '${key}'`, []);
    }
    const kwargs: PyDict = new Map(element);
    const meta = kwargs.get('meta_data');
    if (meta !== undefined && typeof meta !== 'string') kwargs.set('meta_data', pyRepr(meta));
    const bound = bindArguments({ name: 'update_job', params: UPDATE_JOB_PARAMS }, kwargs, false);
    if (!bound.ok) {
      const reply = envelope(false, bound.message);
      const id = element.get('job_id') as PyValue;
      if (typeof id === 'number' && sim.store.get(id) !== undefined) {
        sim.recordJobCall(id, {
          atMs: sim.now(),
          method: 'pilot/update_jobs_bulk',
          params: toPlain(element),
          reply: toPlain(reply),
        });
      }
      replies.push(reply);
      continue;
    }
    replies.push(updateJob(bound.args, sim, 'pilot/update_jobs_bulk'));
  }
  return envelope(true, '', replies);
}

export function getJobStatus(args: Args, sim: SimCore): PyDict {
  const data = (args.get('job_ids') as PyValue[]).map((id) => {
    const job = sim.store.get(intArg(id) ?? Number.NaN);
    return job === undefined
      ? pyDict({ job_id: id, status: 'not found', attempt_number: 0 })
      : pyDict({
          job_id: job.def.pandaId,
          status: job.state.status,
          attempt_number: job.state.attemptNr,
        });
  });
  return envelope(true, '', data);
}
