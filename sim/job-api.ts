/**
 * The job module of the v1 API (srv api/v1/job_api.py): get_status (how Harvester notices kills of
 * heartbeat-suppressed jobs), kill and set_command; plus system/is_alive.
 */
import { envelope } from './envelope.js';
import { SIM_USER_DN } from './job-spec.js';
import { type Args, intArg } from './pilot-api.js';
import { type PyDict, type PyValue, pyDict, toPlain } from './py-value.js';
import type { SimCore } from './sim-core.js';

function recordForAll(
  sim: SimCore,
  ids: readonly (number | null)[],
  method: string,
  args: Args,
  reply: PyDict,
): void {
  const atMs = sim.now();
  const plain = { params: toPlain(new Map(args)), reply: toPlain(reply) };
  for (const id of new Set(ids)) {
    if (id !== null && sim.store.get(id) !== undefined)
      sim.recordJobCall(id, { atMs, method, ...plain });
  }
}

/** `[{status, command}]` in request order; a job PanDA does not know is unknown/tobekilled. */
export function getStatus(args: Args, sim: SimCore): PyDict {
  const ids = (args.get('job_ids') as PyValue[]).map(intArg);
  const data = ids.map((id) => {
    const job = id === null ? undefined : sim.store.get(id);
    return job === undefined
      ? pyDict({ status: 'unknown', command: 'tobekilled' })
      : pyDict({ status: job.state.status, command: job.state.commandToPilot });
  });
  const reply = envelope(true, '', data);
  recordForAll(sim, ids, 'job/get_status', args, reply);
  return reply;
}

/**
 * Kill (reference §3.1): jobs not running are cancelled at once with taskBufferErrorCode 100;
 * a running job keeps running with commandToPilot=tobekilled until its next heartbeat.
 * `kill_options` may carry `jobSubStatus=<value>`.
 */
export function kill(args: Args, sim: SimCore): PyDict {
  const ids = (args.get('job_ids') as PyValue[]).map(intArg);
  const options = args.get('kill_options') as string[];
  const subStatus = options
    .find((o) => o.startsWith('jobSubStatus='))
    ?.slice('jobSubStatus='.length);
  const atMs = sim.now();
  const data = ids.map((id) => {
    if (id === null || sim.store.get(id) === undefined) return false;
    const outcome = sim.apply(id, {
      type: 'kill',
      atMs,
      code: intArg(args.get('code')),
      user: SIM_USER_DN,
      jobSubStatus: subStatus ?? null,
    });
    return outcome.type === 'killed' && outcome.ok;
  });
  const reply = envelope(true, '', data);
  recordForAll(sim, ids, 'job/kill', args, reply);
  return reply;
}

export function setCommand(args: Args, sim: SimCore): PyDict {
  const id = intArg(args.get('job_id'));
  const command = args.get('command') as string;
  if (id === null || sim.store.get(id) === undefined) {
    return envelope(false, `PandaID=${String(args.get('job_id'))} not found in active jobs`);
  }
  const outcome = sim.apply(id, { type: 'set-command', atMs: sim.now(), command });
  const reply =
    outcome.type === 'command-set'
      ? envelope(outcome.ok, outcome.message)
      : envelope(false, 'not applied');
  recordForAll(sim, [id], 'job/set_command', args, reply);
  return reply;
}

export function isAlive(): PyDict {
  return envelope(true);
}
