/** What the Admin and CLI tests share: the real `pgc` binary against a control plane, a raw client. */
import { credentials, type ServiceError } from '@grpc/grpc-js';
import type { ControlPlane } from '../../../control/control-plane.js';
import { JobState } from '../../../control/job-record.js';
import { AdminClient } from '../../../shared/gen/pgc/v1/admin.js';
import type { JobKey } from '../../../shared/gen/pgc/v1/common.js';
import type { JobResult } from '../../../shared/gen/pgc/v1/job.js';
import { type PgcRun, runPgc } from '../../harness/pgc.js';
import { waitFor } from '../../harness/wait.js';
import type { TestAgent } from './harness.js';

/** Runs `pgc <args> --server <cp>`; the server is given by flag, as an operator would. */
export function pgcAgainst(cp: () => ControlPlane) {
  return (args: string[], timeoutMs = 30_000): Promise<PgcRun> =>
    runPgc([...args, '--server', cp().grpcAddress], { timeoutMs });
}

/** Parses `--json` output, saying what came instead when it is not JSON. */
export function json<T = Record<string, unknown>>(run: PgcRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${run.code}): ${run.stdout}\nstderr: ${run.stderr}`);
  }
}

export function rawAdmin(address: string): AdminClient {
  return new AdminClient(address, credentials.createInsecure());
}

/** The gRPC error of a unary call that is expected to fail. */
export function failure(
  start: (cb: (err: ServiceError | null) => void) => void,
): Promise<ServiceError> {
  return new Promise((resolve, reject) =>
    start((err) => (err ? resolve(err) : reject(new Error('the call succeeded')))),
  );
}

/** Waits until the record of `key` is in `state`. */
export function untilState(cp: () => ControlPlane, key: JobKey, state: JobState): Promise<unknown> {
  return waitFor(() => cp().job(key)?.state === state, {
    what: `job ${key.pandaId} ${JobState[state]}`,
    timeoutMs: 15_000,
  });
}

/** Runs an accepted job to its end with `result` (the agent's running and result events). */
export async function finish(
  cp: () => ControlPlane,
  agent: TestAgent,
  key: JobKey,
  result: JobResult = agent.result(key),
): Promise<void> {
  await agent.publish(key, { $case: 'running', running: { pid: 42 } });
  await agent.publish(key, { $case: 'result', result });
  await waitFor(
    async () => {
      const r = cp().job(key);
      return r === undefined || r.state === JobState.FINISHED || r.state === JobState.FAILED;
    },
    { what: `job ${key.pandaId} final`, timeoutMs: 15_000 },
  );
}
