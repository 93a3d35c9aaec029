/**
 * Contract tests: our PanDA v1 client against the simulator, one test per rule of the
 * reference's "What a simulator must implement" list. What passes here is what the control plane
 * can rely on when it talks to a real PanDA server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PandaClient } from '../../control/panda/client.js';
import { PandaHttpError, PandaRejectedError } from '../../control/panda/errors.js';
import { failedUpdate, finalUpdate, progressUpdate } from '../../control/panda/report.js';
import { TranslationError, translatePandaJob } from '../../control/panda/translate.js';
import { FailureCode, type PgcError, TimeoutError, toFailure } from '../../shared/errors.js';
import { KillReason } from '../../shared/gen/pgc/v1/common.js';
import type { JobResult } from '../../shared/gen/pgc/v1/job.js';
import { silentLogger } from '../../shared/logger.js';
import { buildJobPars, outputLfn } from '../../sim/job-template.js';
import type { PandaSim } from '../../sim/server.js';
import { makeTestPki, type TestPki } from '../harness/certs.js';
import { defineJobs, getJob, send, simApi, startSim } from '../harness/sim.js';
import { tempDir } from '../harness/temp.js';
import { waitFor } from '../harness/wait.js';

const noWait = async (): Promise<void> => {};

function client(
  sim: PandaSim,
  extra: Partial<ConstructorParameters<typeof PandaClient>[0]> = {},
): PandaClient {
  return new PandaClient({
    baseUrl: sim.url,
    log: silentLogger(),
    timeoutMs: 5000,
    sleep: noWait,
    ...extra,
  });
}

let serial = 0;
/** Defines `n` prun-style jobs at `site`; returns their ids. */
async function userJobs(sim: PandaSim, site: string, n = 1): Promise<number[]> {
  const jobs = Array.from({ length: n }, () => {
    serial++;
    const lfn = outputLfn(`user.pgc.contract`, serial, 'out.dat');
    return {
      site,
      jobPars: buildJobPars({
        sourceUrl: sim.url,
        archive: 'jobO.contract.tar.gz',
        outputs: [['out.dat', lfn]],
        exec: '{"func_name": "f", "pre_script": "from m import f"}',
      }),
      outputs: [{ lfn, scope: 'user.pgc' }],
    };
  });
  return (await defineJobs(sim, jobs)).pandaIds;
}

function goodResult(spec: ReturnType<typeof translatePandaJob>): JobResult {
  return {
    key: spec.key,
    exitCode: 0,
    signal: '',
    failure: undefined,
    killReason: KillReason.UNSPECIFIED,
    usage: { cpuTimeMs: 1000, wallTimeMs: 2000, maxRssBytes: 1 << 20 },
    returnValueJson: '42',
    outputs: spec.outputs.map((o) => ({
      localName: o.localName,
      lfn: o.lfn,
      sizeBytes: 10,
      adler32: '0a1b2c3d',
      sha256: '',
      guid: '',
      location: undefined,
    })),
    log: {
      localName: 'log.tgz',
      lfn: spec.log?.lfn ?? '',
      sizeBytes: 20,
      adler32: '00000abc',
      sha256: '',
      guid: '',
      location: undefined,
    },
    startedAtMs: Date.now() - 2000,
    endedAtMs: Date.now(),
    errorDiag: '',
  };
}

describe('PanDA client ↔ simulator', () => {
  let sim: PandaSim;
  beforeAll(async () => {
    sim = await startSim({ timeouts: { adderDelayMs: 50, watchdogIntervalMs: 50 } });
  });
  afterAll(async () => sim?.close());

  it('acquires jobs (activated → sent), translates them, and gets [] when PanDA has none', async () => {
    const ids = await userJobs(sim, 'CONTRACT_ACQ', 3);
    const panda = client(sim);
    const jobs = await panda.acquireJobs({
      site_name: 'CONTRACT_ACQ',
      prod_source_label: 'user',
      n_jobs: 2,
    });
    expect(jobs.map((j) => j.PandaID)).toEqual(ids.slice(0, 2));
    for (const job of jobs) {
      const spec = translatePandaJob(job, { queue: 'CONTRACT_ACQ' });
      expect(spec.payload?.$case).toBe('function');
      expect(spec.sandbox?.url).toBe(`${sim.url}/cache/jobO.contract.tar.gz`);
      expect((await getJob(sim, spec.key?.pandaId ?? 0)).status).toBe('sent');
    }
    expect(
      await panda.acquireJobs({ site_name: 'CONTRACT_ACQ', prod_source_label: 'user', n_jobs: 5 }),
    ).toHaveLength(1);
    expect(
      await panda.acquireJobs({ site_name: 'CONTRACT_ACQ', prod_source_label: 'user' }),
    ).toEqual([]);
  });

  it('an unknown parameter is an "Argument error", a wrong type a "Type error"', async () => {
    const panda = client(sim);
    const unknown = await panda
      .acquireJobs({ site_name: 'Q', n_jobz: 1 } as never)
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(PandaRejectedError);
    expect((unknown as Error).message).toMatch(
      /Argument error: .*unexpected keyword argument 'n_jobz'/,
    );
    const wrongType = await panda
      .updateJob({ job_id: '1' as never, job_status: 'running' })
      .catch((e: unknown) => e);
    expect((wrongType as Error).message).toMatch(
      /Type error: 'job_id' must be of type int, got str/,
    );
  });

  it('sends Content-Type exactly application/json: with a charset the server sees no parameters', async () => {
    await userJobs(sim, 'CONTRACT_CT');
    const raw = await send(sim, 'POST', '/api/v1/pilot/acquire_jobs', {
      headers: { 'Content-Type': 'application/json; charset=utf-8', Accept: 'application/json' },
      body: JSON.stringify({ site_name: 'CONTRACT_CT', prod_source_label: 'user' }),
    });
    expect(JSON.parse(raw.text).message).toMatch(
      /missing 1 required positional argument: 'site_name'/,
    );
    // The same parameters through the client are seen.
    expect(
      await client(sim).acquireJobs({ site_name: 'CONTRACT_CT', prod_source_label: 'user' }),
    ).toHaveLength(1);
  });

  it('reports a job through starting, running and finished; the Adder accepts the output report', async () => {
    await userJobs(sim, 'CONTRACT_RUN');
    const panda = client(sim);
    const [job] = await panda.acquireJobs({ site_name: 'CONTRACT_RUN', prod_source_label: 'user' });
    const spec = translatePandaJob(job ?? {}, { queue: 'CONTRACT_RUN' });
    const ctx = { siteName: 'CONTRACT_RUN', node: 'ep1', schedulerId: 'pgc-test' };
    expect(await panda.updateJob(progressUpdate(spec, 'starting', ctx))).toEqual({
      statusCode: 0,
      command: null,
    });
    expect(
      await panda.updateJob(progressUpdate(spec, 'running', ctx, { startedAtMs: Date.now() })),
    ).toEqual({ statusCode: 0, command: null });
    const [reply] = await panda.updateJobsBulk(
      [finalUpdate(spec, goodResult(spec), ctx)],
      'pgc-test',
    );
    expect(reply).toEqual({ statusCode: 0, command: null });
    const id = spec.key?.pandaId ?? 0;
    const final = await waitFor(
      async () => {
        const view = await getJob(sim, id);
        return view.status === 'finished' ? view : undefined;
      },
      { what: 'the Adder to finish the job' },
    );
    expect(final.ddmErrorCode ?? null).toBeNull();
  });

  it('a wrong attempt number gets tobekilled and changes nothing', async () => {
    await userJobs(sim, 'CONTRACT_ATT');
    const panda = client(sim);
    const [job] = await panda.acquireJobs({ site_name: 'CONTRACT_ATT', prod_source_label: 'user' });
    const id = Number(job?.PandaID);
    const reply = await panda.updateJob({
      job_id: id,
      job_status: 'running',
      attempt_nr: Number(job?.attemptNr) + 1,
    });
    expect(reply.command).toBe('tobekilled');
    expect((await getJob(sim, id)).status).toBe('sent');
  });

  it('a job already failed answers alreadydone to a late running update', async () => {
    await userJobs(sim, 'CONTRACT_DONE');
    const panda = client(sim);
    const [job] = await panda.acquireJobs({
      site_name: 'CONTRACT_DONE',
      prod_source_label: 'user',
    });
    const spec = translatePandaJob(job ?? {}, { queue: 'CONTRACT_DONE' });
    const id = spec.key?.pandaId ?? 0;
    const failed = goodResult(spec);
    failed.failure = {
      code: FailureCode.NONZERO_EXIT,
      message: 'payload exited with code 1',
      retryable: false,
    };
    failed.exitCode = 1;
    await panda.updateJob(finalUpdate(spec, failed, { siteName: 'CONTRACT_DONE' }));
    await waitFor(async () => (await getJob(sim, id)).status === 'failed', {
      what: 'the job to fail',
    });
    const late = await panda.updateJob(
      progressUpdate(spec, 'running', { siteName: 'CONTRACT_DONE' }),
    );
    expect(late.command).toBe('alreadydone');
    const view = await getJob(sim, id);
    expect([view.status, view.pilotErrorCode]).toEqual(['failed', 1305]);
  });

  it('a report without fsize or adler32 fails the job with ddmErrorCode 200', async () => {
    await userJobs(sim, 'CONTRACT_ADDER');
    const panda = client(sim);
    const [job] = await panda.acquireJobs({
      site_name: 'CONTRACT_ADDER',
      prod_source_label: 'user',
    });
    const spec = translatePandaJob(job ?? {}, { queue: 'CONTRACT_ADDER' });
    const update = finalUpdate(spec, goodResult(spec), { siteName: 'CONTRACT_ADDER' });
    const report = JSON.parse(update.job_output_report ?? '{}') as Record<
      string,
      Record<string, unknown>
    >;
    for (const entry of Object.values(report)) delete entry.adler32;
    await panda.updateJob({ ...update, job_output_report: JSON.stringify(report) });
    const view = await waitFor(
      async () => {
        const v = await getJob(sim, spec.key?.pandaId ?? 0);
        return v.status === 'failed' ? v : undefined;
      },
      { what: 'the Adder to fail the job' },
    );
    expect(view.ddmErrorCode).toBe(200);
  });

  it('killing an activated job cancels it at once; killing a running one answers tobekilled', async () => {
    const [waiting, running] = await userJobs(sim, 'CONTRACT_KILL', 2);
    const panda = client(sim);
    // Acquire only the first defined job (the second stays activated).
    const [job] = await panda.acquireJobs({
      site_name: 'CONTRACT_KILL',
      prod_source_label: 'user',
    });
    expect(job?.PandaID).toBe(waiting);
    const spec = translatePandaJob(job ?? {}, { queue: 'CONTRACT_KILL' });
    await panda.updateJob(progressUpdate(spec, 'running', { siteName: 'CONTRACT_KILL' }));

    const killed = await simApiV1(sim, 'job/kill', { job_ids: [running, waiting] });
    expect(killed).toEqual([true, true]);
    expect((await getJob(sim, running ?? 0)).status).toBe('cancelled');
    // The running job keeps running until its runner hears of the kill.
    expect((await getJob(sim, waiting ?? 0)).status).toBe('running');
    expect(await panda.getStatus([waiting ?? 0])).toEqual([
      { status: 'running', command: 'tobekilled' },
    ]);
    const heartbeat = await panda.updateJob(
      progressUpdate(spec, 'running', { siteName: 'CONTRACT_KILL' }),
    );
    expect(heartbeat.command).toBe('tobekilled');
    // Unknown jobs read as unknown/tobekilled.
    expect(await panda.getStatus([1])).toEqual([{ status: 'unknown', command: 'tobekilled' }]);
  });

  it('the watchdog fails a job left in sent (102) and a running job without heartbeats (100)', async () => {
    const local = await startSim({
      timeouts: { sentTimeoutMs: 300, heartbeatTimeoutMs: 300, watchdogIntervalMs: 50 },
    });
    try {
      const [sent, silent] = await userJobs(local, 'CONTRACT_WD', 2);
      const panda = client(local);
      const jobs = await panda.acquireJobs({
        site_name: 'CONTRACT_WD',
        prod_source_label: 'user',
        n_jobs: 2,
      });
      const spec = translatePandaJob(jobs[1] ?? {}, { queue: 'CONTRACT_WD' });
      await panda.updateJob(progressUpdate(spec, 'running', { siteName: 'CONTRACT_WD' }));
      const codes = await waitFor(
        async () => {
          const [a, b] = await Promise.all([getJob(local, sent ?? 0), getJob(local, silent ?? 0)]);
          return a.status === 'failed' && b.status === 'failed'
            ? [a.jobDispatcherErrorCode, b.jobDispatcherErrorCode]
            : undefined;
        },
        { what: 'the watchdog' },
      );
      expect(codes).toEqual([102, 100]);
    } finally {
      await local.close();
    }
  });

  it('retries through injected 500s and hangs, and gives typed errors when they last', async () => {
    const seen: string[] = [];
    const panda = client(sim, {
      timeoutMs: 300,
      retries: 2,
      onCall: (method, outcome) => seen.push(`${method} ${outcome}`),
    });
    await panda.getStatus([1]);
    expect(seen).toEqual(['job/get_status ok']);
    seen.length = 0;
    await simApi(sim, 'POST', '/sim/faults', { kind: 'http500', durationMs: 60_000 });
    const err500 = await panda.getStatus([1]).catch((e: unknown) => e);
    expect(err500).toBeInstanceOf(PandaHttpError);
    expect((err500 as PandaHttpError).httpStatus).toBe(500);
    expect((err500 as PgcError).retryable).toBe(true);
    await simApi(sim, 'DELETE', '/sim/faults');

    await simApi(sim, 'POST', '/sim/faults', { kind: 'hang', durationMs: 60_000 });
    const hung = await panda.getStatus([1]).catch((e: unknown) => e);
    expect(hung).toBeInstanceOf(TimeoutError);
    await simApi(sim, 'DELETE', '/sim/faults');
    // Every attempt is counted (the first call and its 2 retries each time), by outcome.
    expect(seen).toEqual([
      ...Array(3).fill('job/get_status http_error'),
      ...Array(3).fill('job/get_status timeout'),
    ]);

    // A short outage is ridden out by the retries (real waits here).
    const patient = client(sim, {
      timeoutMs: 2000,
      retries: 5,
      sleep: undefined,
      backoff: { initialMs: 100, maxMs: 400, multiplier: 2, jitter: 0.2 },
    });
    await simApi(sim, 'POST', '/sim/faults', { kind: 'http500', durationMs: 400 });
    expect(await patient.getStatus([1])).toEqual([{ status: 'unknown', command: 'tobekilled' }]);
    const calls = await simApi<{ calls: Array<{ path: string; faulted: boolean }> }>(
      sim,
      'GET',
      '/sim/calls',
    );
    expect(
      calls.calls.filter((c) => c.path.includes('get_status') && c.faulted).length,
    ).toBeGreaterThan(0);
  });

  it('fails an untranslatable job towards PanDA with its diagnostic while the rest of the batch goes on', async () => {
    await userJobs(sim, 'CONTRACT_BATCH', 2);
    await defineJobs(sim, [
      { site: 'CONTRACT_BATCH', jobPars: '--sourceURL https://c --frobnicate 1 -p "x"' },
    ]);
    const panda = client(sim);
    const jobs = await panda.acquireJobs({
      site_name: 'CONTRACT_BATCH',
      prod_source_label: 'user',
      n_jobs: 10,
    });
    expect(jobs).toHaveLength(3);
    const updates = jobs.map((job) => {
      try {
        return progressUpdate(translatePandaJob(job, { queue: 'CONTRACT_BATCH' }), 'starting', {
          siteName: 'CONTRACT_BATCH',
        });
      } catch (err) {
        if (!(err instanceof TranslationError)) throw err;
        return failedUpdate(
          err.pandaId ?? 0,
          err.attemptNr ?? 0,
          toFailure(err),
          { siteName: 'CONTRACT_BATCH' },
          Date.now(),
        );
      }
    });
    // One bulk call; a per-job refusal would come back in place, not as a thrown error.
    const replies = await panda.updateJobsBulk([
      ...updates,
      { job_id: 'x' as never, job_status: 'running' },
    ]);
    expect(replies.slice(0, 3)).toEqual([
      { statusCode: 0, command: null },
      { statusCode: 0, command: null },
      { statusCode: 0, command: null },
    ]);
    expect(replies[3]).toBeInstanceOf(PandaRejectedError);
    const bad = Number(jobs[2]?.PandaID);
    const view = await waitFor(
      async () => {
        const v = await getJob(sim, bad);
        return v.status === 'failed' ? v : undefined;
      },
      { what: 'the untranslatable job to fail' },
    );
    expect(view.pilotErrorCode).toBe(1008);
    expect((view as unknown as { pilotErrorDiag: string }).pilotErrorDiag).toMatch(
      /unknown option --frobnicate/,
    );
    expect((await getJob(sim, Number(jobs[0]?.PandaID))).status).toBe('starting');
  });

  it('never repeats an acquire that may have reached the server', async () => {
    await userJobs(sim, 'CONTRACT_NOREPEAT');
    const panda = client(sim, { retries: 3 });
    await simApi(sim, 'POST', '/sim/faults', { kind: 'http500', durationMs: 60_000 });
    const before = (await simApi<{ calls: Array<{ path: string }> }>(sim, 'GET', '/sim/calls'))
      .calls.length;
    await expect(
      panda.acquireJobs({ site_name: 'CONTRACT_NOREPEAT', prod_source_label: 'user' }),
    ).rejects.toBeInstanceOf(PandaHttpError);
    const after = (await simApi<{ calls: Array<{ path: string }> }>(sim, 'GET', '/sim/calls')).calls
      .length;
    await simApi(sim, 'DELETE', '/sim/faults');
    expect(after - before).toBe(1);
  });
});

describe('PanDA client authentication', () => {
  let sim: PandaSim;
  beforeAll(async () => {
    sim = await startSim({ token: 'good-token' });
  });
  afterAll(async () => sim?.close());

  it('works with the right bearer token and Origin', async () => {
    const panda = client(sim, { token: 'good-token', origin: 'atlas' });
    expect(await panda.getStatus([1])).toEqual([{ status: 'unknown', command: 'tobekilled' }]);
    expect(await panda.isAlive()).toBe(true);
  });

  it('without credentials PanDA refuses with "SSL secure connection is required"', async () => {
    const err = await client(sim)
      .getStatus([1])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PandaRejectedError);
    expect((err as Error).message).toContain('SSL secure connection is required');
  });

  it('a bad token is HTTP 403, not retried', async () => {
    const err = await client(sim, { token: 'bad', retries: 3 })
      .getStatus([1])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PandaHttpError);
    expect((err as PandaHttpError).httpStatus).toBe(403);
    expect((err as PgcError).retryable).toBe(false);
  });
});

/** job/kill is a user call (panda-client), not one the control plane makes: raw here. */
async function simApiV1(sim: PandaSim, method: string, params: unknown): Promise<unknown> {
  const reply = await send(sim, 'POST', `/api/v1/${method}`, {
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(params),
  });
  return (JSON.parse(reply.text) as { data: unknown }).data;
}

describe('PanDA client over HTTPS with an x509 client certificate', () => {
  let dir: ReturnType<typeof tempDir>;
  let pki: TestPki;
  let sim: PandaSim;
  beforeAll(async () => {
    dir = tempDir();
    pki = makeTestPki(dir.path);
    sim = await startSim({ tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca } });
  });
  afterAll(async () => {
    await sim?.close();
    dir?.[Symbol.dispose]();
  });

  it('authenticates with the certificate instead of a token', async () => {
    const agent = pki.client('harvester');
    const panda = client(sim, { tls: { ca: pki.ca, cert: agent.cert, key: agent.key } });
    expect(sim.url).toMatch(/^https:/);
    expect(await panda.getStatus([1])).toEqual([{ status: 'unknown', command: 'tobekilled' }]);
  });

  it('without a certificate PanDA says a secure connection is required', async () => {
    const err = await client(sim, { tls: { ca: pki.ca } })
      .getStatus([1])
      .catch((e: unknown) => e);
    expect((err as Error).message).toContain('SSL secure connection is required');
  });

  it('a certificate from another CA is no credential either', async () => {
    const foreign = pki.foreignClient;
    const err = await client(sim, { tls: { ca: pki.ca, cert: foreign.cert, key: foreign.key } })
      .getStatus([1])
      .catch((e: unknown) => e);
    expect((err as Error).message).toContain('SSL secure connection is required');
  });
});
