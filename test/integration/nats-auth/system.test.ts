/**
 * The whole system under the accounts `pgc nats-config` writes: a real control plane
 * (`pgc control run`) and a real agent (`pgc agent run`), each with only its nkey seed file,
 * against nats-server running the generated configuration, run a job to completion; its log
 * chunks and log tarball are stored, and neither process was refused anything on the way. The
 * control plane refuses an event, published with an agent's credentials on its own subject,
 * whose body claims another endpoint (RELIABILITY.md test 56, last part); an operator kill reaches
 * the agent through its own command consumer.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { describe, expect, it } from 'vitest';
import { JobEvent, LogChunk, LogStream } from '../../../shared/gen/pgc/v1/events.js';
import { attemptId } from '../../../shared/ids.js';
import { E2E_CONTROL } from '../../harness/e2e.js';
import { connectAgent, connectControl, generateNatsAuth } from '../../harness/nats-auth.js';
import { runPgc } from '../../harness/pgc.js';
import { getJob } from '../../harness/sim.js';
import { TestSystem } from '../../harness/system.js';
import { tempDir } from '../../harness/temp.js';
import { waitFor } from '../../harness/wait.js';
import { defineCommandJobs, uploadCalcPackage } from '../../harness/workload.js';

const QUEUE = 'AUTH_Q';
const ENDPOINT = 'auth-a';

describe('control plane and agent under per-agent NATS accounts', () => {
  it('run a job with its logs and tarball stored, refuse a forged endpoint, deliver a kill', async () => {
    using dir = tempDir('pgc-nats-system-');
    const authDir = join(dir.path, 'nats-auth');
    mkdirSync(authDir);
    const files = await generateNatsAuth(authDir, [ENDPOINT]);
    const { names } = files;
    await using system = await TestSystem.start({
      dir: dir.path,
      queues: [QUEUE],
      natsConfigFile: files.accountsFile,
      control: { ...E2E_CONTROL, nats: { nkeySeedFile: files.controlSeedFile } },
      agents: [
        {
          endpointId: ENDPOINT,
          queues: [QUEUE],
          env: {
            PGC_NATS_NKEY_SEED_FILE: files.agentSeedFile(ENDPOINT),
            PGC_NATS_JS_API_PREFIX: files.apiPrefix,
          },
        },
      ],
      simTimeouts: { adderDelayMs: 100, watchdogIntervalMs: 500 },
    });
    await uploadCalcPackage(system.sim, dir.path);
    const [pandaId = 0] = await defineCommandJobs(
      system.sim,
      QUEUE,
      ['echo out-line; echo err-line >&2; echo hello > out.dat'],
      { withOutput: true },
    );
    const view = await waitFor(
      async () => {
        const job = await getJob(system.sim, pandaId);
        return ['finished', 'failed', 'cancelled', 'closed'].includes(job.status) && job;
      },
      { what: `job ${pandaId} to end`, timeoutMs: 120_000, intervalMs: 250 },
    );
    expect(view.status, JSON.stringify(view)).toBe('finished');

    const control = await connectControl(system.nats, files);
    try {
      // Every log chunk, read back with the control plane's credentials.
      const consumer = await jetstream(control).consumers.get(names.logsStream, {
        filter_subjects: names.jobLogs(ENDPOINT, pandaId),
      });
      const chunks: LogChunk[] = [];
      const messages = await consumer.consume();
      for await (const m of messages) {
        chunks.push(LogChunk.decode(m.data));
        if (new Set(chunks.filter((c) => c.eof).map((c) => c.stream)).size === 2) break;
      }
      await messages.close();
      const text = (stream: LogStream) =>
        Buffer.concat(chunks.filter((c) => c.stream === stream).map((c) => c.data)).toString();
      expect(text(LogStream.STDOUT)).toContain('out-line');
      expect(text(LogStream.STDERR)).toContain('err-line');

      // The log tarball and the output in the endpoint's bucket.
      const bucket = await new Objm(control).open(names.bucket(ENDPOINT));
      const stored = (await bucket.list()).map((o) => o.name);
      const attempt = attemptId({ pandaId, attemptNr: 1 });
      expect(stored.filter((n) => n.startsWith(`log/${attempt}/`))).toHaveLength(1);
      expect(stored.filter((n) => n.startsWith(`out/${attempt}/`))).toHaveLength(1);
    } finally {
      await control.close();
    }

    // An event on the agent's own subject whose body claims another endpoint.
    const agent = await connectAgent(system.nats, files, ENDPOINT);
    try {
      const forged = JobEvent.encode({
        endpointId: 'auth-other',
        key: { pandaId, attemptNr: 1 },
        seq: 2,
        atMs: Date.now(),
        body: { $case: 'staging', staging: { message: 'forged' } },
      }).finish();
      await agent.js.publish(names.jobEvents(ENDPOINT, pandaId), forged);
      await waitFor(
        () =>
          readFileSync(join(dir.path, 'logs', 'control.log'), 'utf8').includes(
            'job event claims another endpoint than its subject',
          ),
        { what: 'the control plane to refuse the forged event', timeoutMs: 15_000 },
      );
      expect(agent.violations.all()).toEqual([]);
    } finally {
      await agent.nc.close();
    }
    expect((await getJob(system.sim, pandaId)).status).toBe('finished');

    // A kill reaches the agent through its own durable command consumer (pull and ack).
    const [long = 0] = await defineCommandJobs(system.sim, QUEUE, ['sleep 300'], {
      firstSerial: 10,
    });
    await waitFor(async () => (await getJob(system.sim, long)).status === 'running', {
      what: `job ${long} running`,
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    const kill = await runPgc(['kill', String(long), '--server', system.controlAddress]);
    expect(kill.code, kill.stderr).toBe(0);
    const killed = await waitFor(
      async () => {
        const job = await getJob(system.sim, long);
        return job.pilotErrorCode !== null && job;
      },
      { what: `job ${long} killed`, timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(killed.pilotErrorCode).toBe(1205);
    // Neither process was refused anything: the accounts give each what it uses.
    for (const log of ['control.log', `agent-${ENDPOINT}.log`])
      expect(readFileSync(join(dir.path, 'logs', log), 'utf8')).not.toMatch(
        /Permissions Violation|Authorization Violation/i,
      );
  }, 240_000);
});
