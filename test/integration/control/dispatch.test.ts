import { describe, expect, it } from 'vitest';
import { JobState } from '../../../control/job-record.js';
import { FailureCode } from '../../../shared/errors.js';
import { uniqueId } from '../../harness/nats.js';
import { getJob, simApi } from '../../harness/sim.js';
import { waitFor } from '../../harness/wait.js';
import { defineTestJobs, useControlEnv } from './harness.js';

const { env, setup } = useControlEnv();

describe('control plane dispatch', () => {
  it('dispatches a job, moves it through its events and reports the final update to PanDA', async () => {
    const { cp, queue, agent: connect } = await setup();
    const agent = await connect(uniqueId('ep'));
    const [pandaId] = await defineTestJobs(env.sim, queue, 1);
    const key = { pandaId: pandaId as number, attemptNr: 1 };

    await waitFor(() => agent.dispatches.length === 1, { what: 'a dispatch' });
    await waitFor(() => cp.job(key)?.state === JobState.ACCEPTED, { what: 'accepted' });
    await waitFor(async () => (await getJob(env.sim, key.pandaId)).status === 'starting', {
      what: 'PanDA sees starting',
    });

    await agent.publish(key, { $case: 'accepted', accepted: {} });
    await agent.publish(key, { $case: 'running', running: { pid: 42 } });
    await waitFor(async () => (await getJob(env.sim, key.pandaId)).status === 'running', {
      what: 'PanDA sees running',
    });
    await agent.publish(key, { $case: 'result', result: agent.result(key) });
    const done = await waitFor(
      async () => {
        const job = await getJob(env.sim, key.pandaId);
        return job.status === 'finished' ? job : undefined;
      },
      { what: 'PanDA finished the job' },
    );
    expect(done.pilotErrorCode ?? 0).toBe(0);
    expect(cp.job(key)).toBeUndefined(); // final and reported: no longer active
    const updates = done.history.filter((h) => h.method === 'pilot/update_jobs_bulk');
    expect(updates.map((u) => u.params.job_status)).toEqual(['starting', 'running', 'finished']);
    expect(updates.at(-1)?.params.node).toBe(agent.endpointId);
  });

  it('heartbeats a running job to PanDA every pandaHeartbeatIntervalMs, with its usage', async () => {
    const { queue, agent: connect } = await setup({ pandaHeartbeatIntervalMs: 300 });
    const agent = await connect(uniqueId('ep'));
    const [pandaId] = await defineTestJobs(env.sim, queue, 1);
    const key = { pandaId: pandaId as number, attemptNr: 1 };
    await waitFor(() => agent.dispatches.length === 1, { what: 'a dispatch' });
    await agent.publish(key, { $case: 'running', running: { pid: 3 } });
    const usage = { cpuTimeMs: 42_000, wallTimeMs: 50_000, maxRssBytes: 64 * 1024 * 1024 };
    await agent.publish(key, { $case: 'heartbeat', heartbeat: { usage } });
    const beats = await waitFor(
      async () => {
        const running = (await getJob(env.sim, key.pandaId)).history.filter(
          (h) => h.params.job_status === 'running',
        );
        return running.length >= 4 ? running : undefined;
      },
      { what: 'four running updates' },
    );
    const gaps = beats.slice(1).map((b, i) => b.atMs - (beats[i]?.atMs ?? 0));
    for (const gap of gaps.slice(1)) expect(gap).toBeGreaterThanOrEqual(250);
    expect(beats.at(-1)?.params).toMatchObject({ cpu_consumption_time: 42, max_rss: 65536 });
  });

  it('reports a failed result with its pilot error code', async () => {
    const { queue, agent: connect } = await setup();
    const agent = await connect(uniqueId('ep'));
    const [pandaId] = await defineTestJobs(env.sim, queue, 1);
    const key = { pandaId: pandaId as number, attemptNr: 1 };
    await waitFor(() => agent.dispatches.length === 1, { what: 'a dispatch' });
    await agent.publish(key, {
      $case: 'result',
      result: agent.result(key, {
        code: FailureCode.NONZERO_EXIT,
        message: 'exit 3',
        retryable: false,
      }),
    });
    const job = await waitFor(
      async () => {
        const j = await getJob(env.sim, key.pandaId);
        return j.status === 'failed' ? j : undefined;
      },
      { what: 'PanDA failed the job' },
    );
    expect(job.pilotErrorCode).toBe(1305);
  });

  it('queues a rejected job again and dispatches it to another endpoint', async () => {
    const { cp, queue, agent: connect } = await setup();
    // A has more free slots, so the first dispatch goes there.
    const a = await connect(uniqueId('epA'), {
      capacity: { slotsTotal: 8 },
      decide: () => 'reject',
    });
    const b = await connect(uniqueId('epB'));
    const [pandaId] = await defineTestJobs(env.sim, queue, 1);
    const key = { pandaId: pandaId as number, attemptNr: 1 };
    await waitFor(() => cp.job(key)?.state === JobState.ACCEPTED, { what: 'accepted at B' });
    expect(a.dispatches.map((d) => d.spec?.key)).toEqual([key]);
    expect(b.dispatches.map((d) => d.spec?.key)).toEqual([key]);
    expect(cp.job(key)?.endpointId).toBe(b.endpointId);
    expect(cp.job(key)?.history.map((h) => h.type)).toEqual([
      'queued',
      'dispatched',
      'queued',
      'dispatched',
      'accepted',
    ]);
  });

  it('keeps an attempt without an ack bound until the agent reconciles without it', async () => {
    const { cp, queue, agent: connect } = await setup();
    let silent = true;
    const a = await connect(uniqueId('epA'), {
      capacity: { slotsTotal: 8 },
      decide: () => (silent ? 'silent' : 'accept'),
      answerReconcile: false,
    });
    const b = await connect(uniqueId('epB'));
    const [pandaId] = await defineTestJobs(env.sim, queue, 1);
    const key = { pandaId: pandaId as number, attemptNr: 1 };
    await waitFor(() => a.reconcileRequests > 0, {
      what: 'a ReconcileRequest after the ack timeout',
    });
    const record = cp.job(key);
    expect(record?.state).toBe(JobState.DISPATCHED);
    expect(record?.ackMissing).toBe(true);
    expect(record?.endpointId).toBe(a.endpointId);
    expect(b.dispatches).toHaveLength(0);
    expect(a.dispatches).toHaveLength(1);

    silent = false;
    a.sendReconcile(); // its journal does not list the attempt: the dispatch was lost
    await waitFor(() => cp.job(key)?.state === JobState.ACCEPTED, { what: 'dispatched again' });
    const all = [...a.dispatches, ...b.dispatches];
    expect(all).toHaveLength(2);
    expect(new Set(all.map((d) => d.dispatchId)).size).toBe(2);
  });

  it('queues a lost dispatch again when the agent says Hello without it', async () => {
    const { cp, queue, agent: connect } = await setup();
    let silent = true;
    const a = await connect(uniqueId('epA'), {
      decide: () => (silent ? 'silent' : 'accept'),
      answerReconcile: false,
    });
    const [pandaId] = await defineTestJobs(env.sim, queue, 1);
    const key = { pandaId: pandaId as number, attemptNr: 1 };
    await waitFor(() => a.reconcileRequests > 0, { what: 'the ack timeout' });
    await a.close();
    // While the endpoint is away the attempt stays bound: another endpoint does not get it.
    const b = await connect(uniqueId('epB'), { decide: () => 'reject' });
    await waitFor(() => cp.job(key)?.ackMissing === true, { what: 'ack missing' });
    expect(b.dispatches).toHaveLength(0);
    await b.close();

    silent = false;
    await a.open();
    await waitFor(() => cp.job(key)?.state === JobState.ACCEPTED, { what: 'dispatched again' });
    expect(a.dispatches).toHaveLength(2);
    expect(cp.job(key)?.history.some((h) => h.message.includes('the dispatch was lost'))).toBe(
      true,
    );
  });

  it('fails an untranslatable job at once and takes in the rest of the batch', async () => {
    const { cp, queue, agent: connect } = await setup();
    const [good1] = await defineTestJobs(env.sim, queue, 1);
    const [bad] = await defineTestJobs(env.sim, queue, 1, {
      transformation: 'https://panda.example/trf/user/runAthena-00-00-12',
    });
    const [good2] = await defineTestJobs(env.sim, queue, 1);
    const agent = await connect(uniqueId('ep'));
    await waitFor(() => agent.dispatches.length === 2, { what: 'two dispatches' });
    expect(agent.dispatches.map((d) => d.spec?.key?.pandaId).sort()).toEqual([good1, good2].sort());
    const failed = await waitFor(
      async () => {
        const job = await getJob(env.sim, bad as number);
        return job.status === 'failed' ? job : undefined;
      },
      { what: 'PanDA failed the bad job' },
    );
    expect(failed.pilotErrorCode).toBe(1008);
    expect(
      failed.history.find((h) => h.method === 'pilot/update_jobs_bulk')?.params.pilot_error_diag,
    ).toContain('runAthena');
    await waitFor(() => cp.job({ pandaId: bad as number, attemptNr: 1 }) === undefined, {
      what: 'the failed job reported',
    });
  });

  it('never asks PanDA for more jobs than the free slots', async () => {
    const { cp, queue, agent: connect } = await setup();
    const agent = await connect(uniqueId('ep'), { capacity: { slotsTotal: 2 } });
    const ids = await defineTestJobs(env.sim, queue, 5);
    await waitFor(() => agent.dispatches.length === 2, { what: 'two dispatches' });
    // Let the pollers run a while: the status poller's calls show time passing.
    const calls = async () =>
      (await simCalls()).filter((c) => c.path.endsWith('/job/get_status')).length;
    const before = await calls();
    await waitFor(async () => (await calls()) >= before + 3, { what: 'three status polls' });
    const acquired = async () =>
      (await Promise.all(ids.map((id) => getJob(env.sim, id)))).filter(
        (j) => j.status !== 'activated',
      );
    expect(await acquired()).toHaveLength(2);

    const first = agent.dispatches[0]?.spec?.key;
    if (first === undefined) throw new Error('no key');
    await agent.publish(first, { $case: 'result', result: agent.result(first) });
    await waitFor(() => agent.dispatches.length === 3, { what: 'a third dispatch' });
    expect(await acquired()).toHaveLength(3);
    const nJobs = (await Promise.all(ids.map((id) => getJob(env.sim, id))))
      .flatMap((j) => j.history)
      .filter((h) => h.method === 'pilot/acquire_jobs')
      .map((h) => h.params.n_jobs as number);
    expect(nJobs.length).toBe(3);
    for (const n of nJobs) expect(n).toBeLessThanOrEqual(2);
    expect(cp.jobs().filter((r) => r.state === JobState.QUEUED)).toHaveLength(0);
  });
});

async function simCalls(): Promise<Array<{ path: string; atMs: number; faulted: boolean }>> {
  const reply = await simApi<{ calls: Array<{ path: string; atMs: number; faulted: boolean }> }>(
    env.sim,
    'GET',
    '/sim/calls',
  );
  return reply.calls;
}
