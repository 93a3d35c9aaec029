import { describe, expect, it } from 'vitest';
import { JobState } from '../../../control/job-record.js';
import { LocalJobState } from '../../../shared/gen/pgc/v1/gateway.js';
import { attemptId } from '../../../shared/ids.js';
import { uniqueId } from '../../harness/nats.js';
import { getJob, type JobView } from '../../harness/sim.js';
import { waitFor } from '../../harness/wait.js';
import { defineTestJobs, useControlEnv } from './harness.js';

const { env, setup } = useControlEnv();

const statuses = (job: JobView): unknown[] =>
  job.history.filter((h) => h.method === 'pilot/update_jobs_bulk').map((h) => h.params.job_status);

describe('control plane restart', () => {
  it('keeps its records and its consumer position: no event lost, none applied twice', async () => {
    const ctl = await setup();
    const endpointId = uniqueId('ep');
    const agent = await ctl.agent(endpointId);
    const [id1, id2] = await defineTestJobs(env.sim, ctl.queue, 2);
    const k1 = { pandaId: id1 as number, attemptNr: 1 };
    const k2 = { pandaId: id2 as number, attemptNr: 1 };
    await waitFor(
      () =>
        ctl.cp.job(k1)?.state === JobState.ACCEPTED && ctl.cp.job(k2)?.state === JobState.ACCEPTED,
      {
        what: 'both accepted',
      },
    );
    for (const key of [k1, k2]) await agent.publish(key, { $case: 'running', running: { pid: 5 } });
    await waitFor(
      async () =>
        (await Promise.all([k1, k2].map((k) => getJob(env.sim, k.pandaId)))).every(
          (j) => j.status === 'running',
        ),
      { what: 'PanDA sees both running' },
    );

    await ctl.cp.stop();
    await agent.close();
    // While the control plane is down job 1 ends: its events wait in JetStream, and the agent
    // forgets the attempt once JetStream took its result. Job 2 keeps running.
    // A backlog ahead of job 1's result keeps the restarted consumer busy when the agent says
    // Hello, so the Hello is judged before that result is applied.
    const bogus = { pandaId: 990_100_001, attemptNr: 1 };
    for (let i = 0; i < 1500; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) =>
          agent.publish(bogus, { $case: 'heartbeat', heartbeat: {} }, 1_000_000 + i + j),
        ),
      );
    }
    await agent.publish(k1, { $case: 'finishing', finishing: {} });
    await agent.publish(k1, { $case: 'result', result: agent.result(k1) });
    await agent.publish(k1, { $case: 'result', result: agent.result(k1) }); // a re-emit: deduplicated
    agent.journal.delete(attemptId(k1));
    agent.journal.set(attemptId(k2), { key: k2, state: LocalJobState.RUNNING });

    const cp = await ctl.restart();
    expect(cp.job(k1)?.state).toBe(JobState.RUNNING);
    const back = await ctl.agent(endpointId, { attempts: [...agent.journal.values()] });
    const job1 = await waitFor(
      async () => {
        const j = await getJob(env.sim, k1.pandaId);
        return j.status === 'finished' ? j : undefined;
      },
      { what: 'job 1 finished in PanDA' },
    );
    // The result in the stream won over the agent's journal, which no longer lists job 1.
    expect(statuses(job1)).toEqual(['starting', 'running', 'finished']);
    expect(cp.job(k2)?.state).toBe(JobState.RUNNING);
    expect(back.dispatches).toHaveLength(0);

    await back.publish(k2, { $case: 'result', result: agent.result(k2) });
    const job2 = await waitFor(
      async () => {
        const j = await getJob(env.sim, k2.pandaId);
        return j.status === 'finished' ? j : undefined;
      },
      { what: 'job 2 finished in PanDA' },
    );
    expect(statuses(job2)).toEqual(['starting', 'running', 'finished']);
  });

  it('carries endpoint leases over a restart', async () => {
    const ctl = await setup({ agentLeaseMs: 1500 });
    const agent = await ctl.agent(uniqueId('ep'));
    const [pandaId] = await defineTestJobs(env.sim, ctl.queue, 1);
    const key = { pandaId: pandaId as number, attemptNr: 1 };
    await waitFor(() => ctl.cp.job(key)?.state === JobState.ACCEPTED, { what: 'accepted' });
    await agent.close();
    await ctl.cp.stop();
    const cp = await ctl.restart();
    expect(cp.job(key)?.state).toBe(JobState.ACCEPTED);
    const job = await waitFor(
      async () => {
        const j = await getJob(env.sim, key.pandaId);
        return j.status === 'failed' ? j : undefined;
      },
      { what: 'the lease expired after the restart' },
    );
    expect(job.history.at(-1)?.params.pilot_error_diag).toContain('endpoint lost');
  });
});
