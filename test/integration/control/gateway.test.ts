import { credentials, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobState } from '../../../control/job-record.js';
import { AgentGatewayClient } from '../../../shared/gen/pgc/v1/gateway.js';
import { makeTestPki, type TestPki } from '../../harness/certs.js';
import { uniqueId } from '../../harness/nats.js';
import { getJob } from '../../harness/sim.js';
import { tempDir } from '../../harness/temp.js';
import { waitFor } from '../../harness/wait.js';
import { defineTestJobs, TestAgent, useControlEnv } from './harness.js';

const { env, setup } = useControlEnv();

describe('AgentGateway.Connect', () => {
  it('closes a stream whose first message is not Hello, and a Hello with a bad endpoint id', async () => {
    const { cp, names } = await setup();
    const client = new AgentGatewayClient(cp.grpcAddress, credentials.createInsecure());
    env.defer(() => client.close());
    const stream = client.connect();
    const ended = new Promise<{ code: number; details: string }>((resolve) =>
      stream.on('status', resolve),
    );
    stream.on('error', () => {});
    stream.write({ body: { $case: 'ping', ping: { atMs: 1 } } });
    expect(await ended).toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: 'the first message must be Hello',
    });

    const bad = new TestAgent({
      address: cp.grpcAddress,
      endpointId: 'a.b>',
      queues: [],
      nc: env.nc,
      names,
    });
    env.defer(() => bad.dispose());
    const failure = await bad.open().catch((err: Error) => err);
    expect(String(failure)).toContain(`${status.INVALID_ARGUMENT}`);
    expect(String(failure)).toContain('not a valid id');
  });

  it('ends the older stream when the same endpoint connects again, and bumps the epoch', async () => {
    const { agent: connect } = await setup();
    const endpointId = uniqueId('ep');
    const first = await connect(endpointId);
    const second = await connect(endpointId);
    await waitFor(() => first.ended, { what: 'the first stream ended' });
    expect(second.ended).toBe(false);
    expect((second.welcome?.epoch ?? 0) - (first.welcome?.epoch ?? 0)).toBe(1);
  });

  it('dispatches a queue only to endpoints the configuration permits', async () => {
    const queue = uniqueId('Q');
    const { cp, agent: connect } = await setup({
      queues: [{ name: queue, endpoints: ['allowed-ep'] }],
    });
    const stranger = await connect(uniqueId('ep'), {
      queues: [queue],
      capacity: { slotsTotal: 16 },
    });
    const allowed = await connect('allowed-ep', { queues: [queue] });
    const [pandaId] = await defineTestJobs(env.sim, queue, 1);
    await waitFor(
      () => cp.job({ pandaId: pandaId as number, attemptNr: 1 })?.state === JobState.ACCEPTED,
      {
        what: 'accepted',
      },
    );
    expect(allowed.dispatches).toHaveLength(1);
    expect(stranger.dispatches).toHaveLength(0);
  });

  it('closes a silent stream, which starts the endpoint lease', async () => {
    const {
      cp,
      queue,
      agent: connect,
    } = await setup({ agentSilenceTimeoutMs: 600, agentLeaseMs: 800 });
    const agent = await connect(uniqueId('ep'), { ping: false });
    const [pandaId] = await defineTestJobs(env.sim, queue, 1);
    const key = { pandaId: pandaId as number, attemptNr: 1 };
    await waitFor(() => cp.job(key)?.state === JobState.ACCEPTED, { what: 'accepted' });
    await waitFor(() => agent.ended, { what: 'the silent stream closed' });
    expect(agent.status?.code).toBe(status.UNAVAILABLE);
    await waitFor(async () => (await getJob(env.sim, key.pandaId)).status === 'failed', {
      what: 'the lease expired',
    });
  });

  describe('with mutual TLS', () => {
    let dir: ReturnType<typeof tempDir>;
    let pki: TestPki;
    beforeAll(() => {
      dir = tempDir();
      pki = makeTestPki(dir.path);
    });
    afterAll(() => dir[Symbol.dispose]());

    it('accepts an agent whose certificate names its endpoint, and refuses one claiming another', async () => {
      const { cp, names } = await setup({
        tls: { caFile: pki.caFile, certFile: pki.server.certFile, keyFile: pki.server.keyFile },
      });
      const cert = pki.agent('ep-tls');
      const creds = credentials.createSsl(pki.ca, cert.key, cert.cert);
      const options = {
        address: cp.grpcAddress,
        queues: [],
        nc: env.nc,
        names,
        credentials: creds,
      };
      const honest = new TestAgent({ ...options, endpointId: 'ep-tls' });
      env.defer(() => honest.dispose());
      await honest.open();
      expect(honest.welcome?.epoch).toBe(1);
      const liar = new TestAgent({ ...options, endpointId: 'ep-other' });
      env.defer(() => liar.dispose());
      const refused = await liar.open().catch((e: Error) => e);
      expect(String(refused)).toContain(`${status.PERMISSION_DENIED}`);
      expect(String(refused)).toContain('does not match the client certificate');
    });
  });
});
