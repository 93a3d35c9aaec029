import { describe, expect, it } from 'vitest';
import { JobState } from '../../../control/job-record.js';
import { FailureCode } from '../../../shared/errors.js';
import { KillReason } from '../../../shared/gen/pgc/v1/common.js';
import { uniqueId } from '../../harness/nats.js';
import { getJob, v1 } from '../../harness/sim.js';
import { waitFor } from '../../harness/wait.js';
import { defineTestJobs, storedCommands, useControlEnv } from './harness.js';

const { env, setup } = useControlEnv();

describe('kills from PanDA', () => {
  it('turns tobekilled for a running job into KillJob(PANDA) and reports the kill as 1144/cancelled', async () => {
    const { cp, queue, agent: connect } = await setup();
    const agent = await connect(uniqueId('ep'));
    const [pandaId] = await defineTestJobs(env.sim, queue, 1);
    const key = { pandaId: pandaId as number, attemptNr: 1 };
    await waitFor(() => cp.job(key)?.state === JobState.ACCEPTED, { what: 'accepted' });
    await agent.publish(key, { $case: 'running', running: { pid: 9 } });
    await waitFor(async () => (await getJob(env.sim, key.pandaId)).status === 'running', {
      what: 'PanDA sees running',
    });

    const killedAt = Date.now();
    const reply = await v1<boolean[]>(env.sim, 'job/kill', { job_ids: [key.pandaId] });
    expect(reply.data).toEqual([true]);
    const [command] = await waitFor(
      async () => {
        const c = await agent.commands();
        return c.length > 0 ? c : undefined;
      },
      { what: 'the kill command', timeoutMs: 5000 },
    );
    // Seen by the 300 ms status poll, not by a heartbeat minutes later.
    expect(Date.now() - killedAt).toBeLessThan(3000);
    expect(command?.body?.$case).toBe('kill');
    const kill = command?.body?.$case === 'kill' ? command.body.kill : undefined;
    expect(kill?.key).toEqual(key);
    expect(kill?.reason).toBe(KillReason.PANDA);
    expect(cp.job(key)?.killReason).toBe(KillReason.PANDA);

    const failure = {
      code: FailureCode.KILLED_BY_PANDA,
      message: 'killed by PanDA',
      retryable: false,
    };
    await agent.publish(key, {
      $case: 'result',
      result: { ...agent.result(key, failure), exitCode: undefined, signal: 'SIGTERM' },
    });
    const job = await waitFor(
      async () => {
        const j = await getJob(env.sim, key.pandaId);
        return j.status === 'cancelled' ? j : undefined;
      },
      { what: 'PanDA cancelled the job' },
    );
    expect(job.pilotErrorCode).toBe(1144);
    expect(job.jobSubStatus).toBe('cancelled');
    await waitFor(() => cp.job(key) === undefined, { what: 'the record reported' });
  });

  it('cancels a job killed in PanDA before it was dispatched, without an update or a command', async () => {
    const { cp, queue, names, agent: connect } = await setup();
    const agent = await connect(uniqueId('ep'), { decide: () => 'reject' });
    const [pandaId] = await defineTestJobs(env.sim, queue, 1);
    const key = { pandaId: pandaId as number, attemptNr: 1 };
    await waitFor(() => agent.dispatches.length === 1 && cp.job(key)?.state === JobState.QUEUED, {
      what: 'rejected and queued',
    });
    await v1(env.sim, 'job/kill', { job_ids: [key.pandaId] });
    await waitFor(() => cp.job(key) === undefined, { what: 'cancelled and done' });
    const job = await getJob(env.sim, key.pandaId);
    expect(job.status).toBe('cancelled');
    expect(job.history.filter((h) => h.method === 'pilot/update_jobs_bulk')).toHaveLength(0);
    expect(await storedCommands(env.nc, names, agent.endpointId)).toHaveLength(0);
  });
});
