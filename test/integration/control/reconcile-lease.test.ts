import { jetstream } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { JobState } from '../../../control/job-record.js';
import { KillReason } from '../../../shared/gen/pgc/v1/common.js';
import { JobEvent } from '../../../shared/gen/pgc/v1/events.js';
import { LocalJobState } from '../../../shared/gen/pgc/v1/gateway.js';
import { eventMessageId } from '../../../shared/job-events.js';
import { uniqueId } from '../../harness/nats.js';
import { getJob } from '../../harness/sim.js';
import { waitFor } from '../../harness/wait.js';
import { defineTestJobs, storedCommands, useControlEnv } from './harness.js';

const { env, setup } = useControlEnv();

async function pandaFailed(pandaId: number) {
  return waitFor(
    async () => {
      const job = await getJob(env.sim, pandaId);
      return job.status === 'failed' ? job : undefined;
    },
    { what: `PanDA job ${pandaId} failed` },
  );
}

describe('reconcile', () => {
  it('fences attempts the agent runs but the control plane does not know', async () => {
    const { names, agent: connect } = await setup();
    const unknown = { pandaId: 990_000_001, attemptNr: 3 };
    const finished = { pandaId: 990_000_002, attemptNr: 1 };
    const agent = await connect(uniqueId('ep'), {
      attempts: [
        { key: unknown, state: LocalJobState.RUNNING },
        { key: finished, state: LocalJobState.EXITED_UNPUBLISHED },
      ],
    });
    const commands = await waitFor(
      async () => {
        const stored = await storedCommands(env.nc, names, agent.endpointId);
        return stored.length > 0 ? stored : undefined;
      },
      { what: 'a fence' },
    );
    expect(commands).toHaveLength(1);
    const kill = commands[0]?.body?.$case === 'kill' ? commands[0].body.kill : undefined;
    expect(kill?.key).toEqual(unknown);
    expect(kill?.reason).toBe(KillReason.FENCE);
    // The agent pulls it from its durable consumer, as the real one does.
    expect((await agent.commands()).map((c) => c.commandId)).toEqual([commands[0]?.commandId]);
  });

  it('fails an accepted attempt the agent no longer holds and tells PanDA', async () => {
    const { cp, queue, agent: connect } = await setup();
    const agent = await connect(uniqueId('ep'));
    const [pandaId] = await defineTestJobs(env.sim, queue, 1);
    const key = { pandaId: pandaId as number, attemptNr: 1 };
    await waitFor(() => cp.job(key)?.state === JobState.ACCEPTED, { what: 'accepted' });
    await agent.publish(key, { $case: 'running', running: { pid: 7 } });
    await waitFor(() => cp.job(key)?.state === JobState.RUNNING, { what: 'running' });

    await agent.close();
    agent.journal.clear(); // the agent lost its state directory
    await agent.open();
    const job = await pandaFailed(key.pandaId);
    expect(job.pilotErrorCode).toBe(1008);
    const last = job.history.filter((h) => h.method === 'pilot/update_jobs_bulk').at(-1);
    expect(last?.params.pilot_error_diag).toContain('lost the attempt');
  });
});

describe('endpoint lease', () => {
  it('fences and fails the attempts of an endpoint gone longer than its lease; late events are dropped', async () => {
    const { cp, queue, names, agent: connect } = await setup({ agentLeaseMs: 1500 });
    const agent = await connect(uniqueId('ep'));
    const [pandaId] = await defineTestJobs(env.sim, queue, 1);
    const key = { pandaId: pandaId as number, attemptNr: 1 };
    await waitFor(() => cp.job(key)?.state === JobState.ACCEPTED, { what: 'accepted' });
    await agent.publish(key, { $case: 'running', running: { pid: 7 } });
    await waitFor(() => cp.job(key)?.state === JobState.RUNNING, { what: 'running' });
    const goneAt = Date.now();
    await agent.close();

    const job = await pandaFailed(key.pandaId);
    expect(Date.now() - goneAt).toBeGreaterThanOrEqual(1500);
    const last = job.history.filter((h) => h.method === 'pilot/update_jobs_bulk').at(-1);
    expect(last?.params.pilot_error_diag).toContain('endpoint lost');
    const fences = await storedCommands(env.nc, names, agent.endpointId);
    expect(fences.map((c) => (c.body?.$case === 'kill' ? c.body.kill.reason : undefined))).toEqual([
      KillReason.FENCE,
    ]);

    // The endpoint comes back still running the attempt: fenced again, its result ignored.
    agent.journal.set('x', { key, state: LocalJobState.RUNNING });
    await agent.open();
    await agent.publish(key, { $case: 'result', result: agent.result(key) });
    const pending = await waitFor(
      async () => {
        const c = await agent.commands();
        return c.length > 0 ? c : undefined;
      },
      { what: 'the fence delivered' },
    );
    expect(
      pending.every((c) => c.body?.$case === 'kill' && c.body.kill.reason === KillReason.FENCE),
    ).toBe(true);
    const after = await getJob(env.sim, key.pandaId);
    expect(after.status).toBe('failed');
    expect(after.history.filter((h) => h.params.job_status === 'finished')).toHaveLength(0);
  });
});

describe('job events', () => {
  it('ignores events whose subject names another endpoint, and fences an endpoint reporting an attempt bound elsewhere', async () => {
    const { cp, queue, names, agent: connect } = await setup();
    const a = await connect(uniqueId('epA'));
    const [pandaId] = await defineTestJobs(env.sim, queue, 1);
    const key = { pandaId: pandaId as number, attemptNr: 1 };
    await waitFor(() => cp.job(key)?.state === JobState.ACCEPTED, { what: 'accepted' });
    const b = await connect(uniqueId('epB'));
    const js = jetstream(env.nc);
    // B, on its own subject, claims to be A: a forged result.
    const forged: JobEvent = {
      endpointId: a.endpointId,
      key,
      seq: 5,
      atMs: Date.now(),
      body: { $case: 'result', result: a.result(key) },
    };
    await js.publish(names.jobEvents(b.endpointId, key.pandaId), JobEvent.encode(forged).finish(), {
      msgID: `forged-${uniqueId()}`,
    });
    // B reports progress of A's attempt under its own name.
    await b.publish(key, { $case: 'running', running: { pid: 1 } });
    // A's own event comes after both; once it is applied, both were seen.
    await a.publish(key, { $case: 'staging', staging: { message: 'fetching' } });
    await waitFor(() => cp.job(key)?.state === JobState.STAGING, { what: 'staging from A' });
    expect(cp.job(key)?.endpointId).toBe(a.endpointId);
    const fences = await waitFor(
      async () => {
        const c = await storedCommands(env.nc, names, b.endpointId);
        return c.length > 0 ? c : undefined;
      },
      { what: 'B fenced' },
    );
    expect(fences[0]?.body?.$case === 'kill' && fences[0].body.kill.key).toEqual(key);
    expect(eventMessageId(forged)).toContain('result');
  });
});
