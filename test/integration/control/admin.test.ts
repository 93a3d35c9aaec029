/**
 * The Admin service through the real `pgc` binary against a running control plane (issue #6):
 * endpoints, jobs (paging, filters, reported records), job detail, kills, drains that survive a
 * restart, exit statuses, gRPC status codes and the health service.
 */
import { credentials, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { JobState } from '../../../control/job-record.js';
import {
  type HealthCheckResponse,
  HealthClient,
  HealthCheckResponse_ServingStatus as Serving,
} from '../../../shared/gen/grpc/health/v1/health.js';
import { KillReason } from '../../../shared/gen/pgc/v1/common.js';
import { uniqueId } from '../../harness/nats.js';
import { runPgc } from '../../harness/pgc.js';
import { getJob } from '../../harness/sim.js';
import { freePort } from '../../harness/system.js';
import { waitFor } from '../../harness/wait.js';
import { failure, finish, json, pgcAgainst, rawAdmin, untilState } from './admin-helpers.js';
import { defineTestJobs, useControlEnv } from './harness.js';

const { env, setup } = useControlEnv();

interface EndpointJson {
  endpointId: string;
  status: string;
  drained: boolean;
  queues: string[];
  slotsUsed: number;
  slotsTotal: number;
  runningJobs: number;
  lastSeenMs: number | null;
  agentVersion: string | null;
}
interface JobJson {
  pandaId: number;
  attemptNr: number;
  state: string;
  reported: boolean;
  queue: string;
  endpointId: string | null;
}

describe('pgc endpoints, jobs and job', () => {
  it('lists online and offline endpoints, and pages through every job, reported ones too', async () => {
    const ctl = await setup();
    const pgc = pgcAgainst(() => ctl.cp);
    const online = uniqueId('on');
    const gone = uniqueId('off');
    const agent = await ctl.agent(online, { capacity: { slotsTotal: 8 } });
    const other = await ctl.agent(gone);
    await other.close();

    const ids = await defineTestJobs(env.sim, ctl.queue, 5);
    const keys = ids.map((pandaId) => ({ pandaId, attemptNr: 1 }));
    for (const key of keys) await untilState(() => ctl.cp, key, JobState.ACCEPTED);
    const [k0, k1] = keys as [(typeof keys)[0], (typeof keys)[0]];
    for (const key of [k0, k1]) await finish(() => ctl.cp, agent, key);
    // Reported to PanDA: the records left memory; pgc jobs still shows them (from disk).
    await waitFor(() => ctl.cp.job(k0) === undefined && ctl.cp.job(k1) === undefined, {
      what: 'both reported',
    });

    const endpoints = await waitFor(
      async () => {
        const run = await pgc(['endpoints', '--json']);
        const list = json<{ endpoints: EndpointJson[] }>(run).endpoints;
        return list.find((e) => e.endpointId === gone)?.status === 'offline' ? list : undefined;
      },
      { what: 'the closed endpoint offline' },
    );
    const on = endpoints.find((e) => e.endpointId === online);
    const off = endpoints.find((e) => e.endpointId === gone);
    expect(on).toMatchObject({
      status: 'online',
      drained: false,
      queues: [ctl.queue],
      slotsTotal: 8,
      slotsUsed: 3,
      runningJobs: 3,
      agentVersion: 'test',
    });
    expect(off).toMatchObject({ status: 'offline', queues: [ctl.queue], agentVersion: 'test' });
    expect(off?.lastSeenMs).toBeGreaterThan(0);
    const table = await pgc(['endpoints']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ENDPOINT\s+STATUS\s+SLOTS/);
    expect(table.stdout).toMatch(new RegExp(`${online}\\s+online\\s+3/8`));

    // Three pages of two, in PanDA id order, then no token.
    const seen: JobJson[] = [];
    let token: string | null = null;
    for (let page = 0; page < 3; page++) {
      const args = ['jobs', '--json', '--limit', '2', ...(token ? ['--page-token', token] : [])];
      const body: { jobs: JobJson[]; nextPageToken: string | null } = json(await pgc(args));
      seen.push(...body.jobs);
      token = body.nextPageToken;
      if (page < 2) expect(token).toEqual(expect.any(String));
    }
    expect(token).toBeNull();
    expect(seen.map((j) => j.pandaId)).toEqual(ids);
    expect(seen.slice(0, 2).map((j) => [j.state, j.reported])).toEqual([
      ['finished', true],
      ['finished', true],
    ]);
    const finished: { jobs: JobJson[] } = json(
      await pgc(['jobs', '--json', '--state', 'finished']),
    );
    expect(finished.jobs.map((j) => j.pandaId)).toEqual([k0.pandaId, k1.pandaId]);
    const several: { jobs: JobJson[] } = json(
      await pgc([
        'jobs',
        '--json',
        '--state',
        'accepted',
        '--state',
        'finished',
        '--endpoint',
        online,
      ]),
    );
    expect(several.jobs).toHaveLength(5);
    const none: { jobs: JobJson[] } = json(await pgc(['jobs', '--json', '--queue', 'NoSuchQ']));
    expect(none.jobs).toEqual([]);
    const human = await pgc(['jobs', '--limit', '2']);
    expect(human.stdout).toMatch(/^PANDAID\s+ATTEMPT\s+STATE/);
    expect(human.stdout).toMatch(/more: pgc jobs --page-token \S+/);

    const detail = json<{
      state: string;
      history: { type: string }[];
      files: { kind: string; lfn: string; adler32: string }[];
      spec: { outputs: { lfn: string }[] };
    }>(await pgc(['job', String(k0.pandaId), '--json']));
    expect(detail.state).toBe('finished');
    expect(detail.history.map((h) => h.type)).toEqual([
      'queued',
      'dispatched',
      'accepted',
      'running',
      'finished',
      'reported',
    ]);
    expect(detail.files.find((f) => f.kind === 'output')).toMatchObject({
      lfn: detail.spec.outputs[0]?.lfn,
      adler32: '0a1b2c3d',
    });
    const shown = await pgc(['job', String(k0.pandaId)]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('timeline:');
    expect(shown.stdout).toContain('finished, reported to PanDA');
  });
});

describe('pgc kill', () => {
  it('cancels a job not yet dispatched and reports it to PanDA as 1205/cancelled', async () => {
    const ctl = await setup();
    const pgc = pgcAgainst(() => ctl.cp);
    const agent = await ctl.agent(uniqueId('ep'), { decide: () => 'reject' });
    const [pandaId] = await defineTestJobs(env.sim, ctl.queue, 1);
    const key = { pandaId: pandaId as number, attemptNr: 1 };
    await waitFor(
      () => agent.dispatches.length === 1 && ctl.cp.job(key)?.state === JobState.QUEUED,
      {
        what: 'rejected and queued again',
      },
    );
    const run = await pgc(['kill', String(key.pandaId), '--reason', 'wrong input', '--json']);
    expect(run.code).toBe(0);
    expect(json(run)).toEqual({
      outcomes: [{ pandaId: key.pandaId, result: 'cancelled', message: expect.any(String) }],
    });
    const job = await waitFor(
      async () => {
        const j = await getJob(env.sim, key.pandaId);
        return ['failed', 'cancelled'].includes(j.status) ? j : undefined;
      },
      { what: 'PanDA told, past its Adder' },
    );
    expect(job.pilotErrorCode).toBe(1205);
    expect(job.jobSubStatus).toBe('cancelled');
    const update = job.history.find((h) => h.method === 'pilot/update_jobs_bulk');
    expect(String(update?.params.pilot_error_diag)).toContain('wrong input');

    // Again, with an unknown id: both are harmless no-ops.
    const again = await pgc(['kill', String(key.pandaId), '987654321098', '--json']);
    expect(again.code).toBe(0);
    expect(json<{ outcomes: { result: string }[] }>(again).outcomes.map((o) => o.result)).toEqual([
      'already-final',
      'unknown',
    ]);
  });

  it('sends a dispatched job a KillJob(OPERATOR) on its endpoint command subject', async () => {
    const ctl = await setup();
    const pgc = pgcAgainst(() => ctl.cp);
    const agent = await ctl.agent(uniqueId('ep'));
    const [pandaId] = await defineTestJobs(env.sim, ctl.queue, 1);
    const key = { pandaId: pandaId as number, attemptNr: 1 };
    await untilState(() => ctl.cp, key, JobState.ACCEPTED);
    const run = await pgc(['kill', String(key.pandaId)]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`${key.pandaId}\\s+requested`));
    const [command] = await waitFor(
      async () => {
        const c = await agent.commands();
        return c.length > 0 ? c : undefined;
      },
      { what: 'the kill command', timeoutMs: 5000 },
    );
    const kill = command?.body?.$case === 'kill' ? command.body.kill : undefined;
    expect(kill?.key).toEqual(key);
    expect(kill?.reason).toBe(KillReason.OPERATOR);
    expect(kill?.message).toContain('killed by an operator');
  });
});

describe('pgc drain', () => {
  it('keeps new jobs off a drained endpoint across a restart while its running job finishes', async () => {
    const ctl = await setup();
    const pgc = pgcAgainst(() => ctl.cp);
    const epA = uniqueId('a');
    const epB = uniqueId('b');
    let a = await ctl.agent(epA, { capacity: { slotsTotal: 4 } });
    const [first] = await defineTestJobs(env.sim, ctl.queue, 1);
    const running = { pandaId: first as number, attemptNr: 1 };
    await untilState(() => ctl.cp, running, JobState.ACCEPTED);
    let b = await ctl.agent(epB, { capacity: { slotsTotal: 16 } });

    const drained = await pgc(['drain', epA, '--json']);
    expect(drained.code).toBe(0);
    expect(json<{ endpoint: EndpointJson }>(drained).endpoint).toMatchObject({
      endpointId: epA,
      status: 'draining',
      drained: true,
      runningJobs: 1,
    });
    const placed = async (count: number): Promise<string[]> => {
      const ids = await defineTestJobs(env.sim, ctl.queue, count);
      const keys = ids.map((pandaId) => ({ pandaId, attemptNr: 1 }));
      for (const key of keys) await untilState(() => ctl.cp, key, JobState.ACCEPTED);
      return keys.map((k) => ctl.cp.job(k)?.endpointId ?? '?');
    };
    expect(await placed(3)).toEqual([epB, epB, epB]);
    // The job already at A goes on to its end.
    await finish(() => ctl.cp, a, running);
    expect((await getJob(env.sim, running.pandaId)).status).not.toBe('failed');

    await a.close();
    await b.close();
    await ctl.cp.stop();
    await ctl.restart();
    a = await ctl.agent(epA, { capacity: { slotsTotal: 4 } });
    b = await ctl.agent(epB, { capacity: { slotsTotal: 16 }, attempts: [...b.journal.values()] });
    const after = json<{ endpoints: EndpointJson[] }>(await pgc(['endpoints', '--json']));
    expect(after.endpoints.find((e) => e.endpointId === epA)).toMatchObject({
      status: 'draining',
      drained: true,
    });
    expect(await placed(2)).toEqual([epB, epB]);
    expect(a.dispatches).toHaveLength(0);

    const undrained = await pgc(['undrain', epA]);
    expect(undrained.code).toBe(0);
    expect(undrained.stdout).toContain(`${epA} undrained`);
    // A is now the least loaded endpoint: the next job goes there.
    expect(await placed(1)).toEqual([epA]);
  });
});

describe('errors, status codes and health', () => {
  it('exits 1 with a one-line reason, 2 on bad usage, and returns meaningful gRPC codes', async () => {
    const ctl = await setup();
    const pgc = pgcAgainst(() => ctl.cp);
    const missing = await pgc(['job', '987654321098']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('pgc: no job 987654321098\n');
    const noEndpoint = await pgc(['drain', 'no-such-endpoint']);
    expect(noEndpoint.code).toBe(1);
    expect(noEndpoint.stderr).toContain('no endpoint no-such-endpoint');
    const badToken = await pgc(['jobs', '--page-token', 'bogus']);
    expect(badToken.code).toBe(2);
    expect(badToken.stderr).toContain('page token "bogus" is not one this server gave');
    const badState = await pgc(['jobs', '--state', 'sleeping']);
    expect(badState.code).toBe(2);
    expect(badState.stderr).toContain('expected one of queued');
    const noIds = await pgc(['kill']);
    expect(noIds.code).toBe(2);
    const port = await freePort();
    const unreachable = await runPgc(['endpoints', '--server', `127.0.0.1:${port}`]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toBe(
      `pgc: cannot reach the control plane at 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`,
    );

    const admin = rawAdmin(ctl.cp.grpcAddress);
    env.defer(() => admin.close());
    const notFound = await failure((cb) => admin.getJob({ pandaId: 987654321098 }, cb));
    expect(notFound.code).toBe(status.NOT_FOUND);
    const invalid = await failure((cb) =>
      admin.listJobs(
        { states: [], endpointId: 'a.b', queue: '', taskId: 0, pageSize: 0, pageToken: '' },
        cb,
      ),
    );
    expect(invalid.code).toBe(status.INVALID_ARGUMENT);
    const badFetch = await failure((cb) =>
      admin.fetchObject({ pandaId: 0, what: undefined }).on('error', cb),
    );
    expect(badFetch.code).toBe(status.INVALID_ARGUMENT);
  });

  it('serves grpc.health.v1 on the same port: SERVING while running, NOT_SERVING when stopping', async () => {
    const ctl = await setup();
    const health = new HealthClient(ctl.cp.grpcAddress, credentials.createInsecure());
    env.defer(() => health.close());
    const check = (service: string) =>
      new Promise<HealthCheckResponse>((resolve, reject) =>
        health.check({ service }, (err, res) => (err ? reject(err) : resolve(res))),
      );
    expect((await check('')).status).toBe(Serving.SERVING);
    expect((await check('pgc.v1.Admin')).status).toBe(Serving.SERVING);
    expect((await check('pgc.v1.AgentGateway')).status).toBe(Serving.SERVING);
    await expect(check('nope')).rejects.toMatchObject({ code: status.NOT_FOUND });

    const seen: Serving[] = [];
    const watch = health.watch({ service: 'pgc.v1.Admin' });
    watch.on('data', (m: HealthCheckResponse) => seen.push(m.status));
    watch.on('error', () => {});
    await waitFor(() => seen.length === 1, { what: 'the first Watch answer' });
    await ctl.cp.stop();
    expect(seen).toEqual([Serving.SERVING, Serving.NOT_SERVING]);
  });
});
