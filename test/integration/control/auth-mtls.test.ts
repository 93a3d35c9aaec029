/**
 * Mutual TLS on the control plane's port (RELIABILITY.md §7.G test 58, issue #7): real gRPC over
 * loopback against a control plane in this process, certificates from test/harness/certs.ts.
 * With TLS and no admin tokens the handshake itself demands a certificate from the CA; the auth
 * interceptor then admits agent certificates to AgentGateway only and admin certificates to
 * Admin only, with their role. Every refusal is checked for what did not happen: no handler ran,
 * no endpoint was recorded, no job changed.
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobState } from '../../../control/job-record.js';
import { makeTestPki, type TestPki } from '../../harness/certs.js';
import { uniqueId } from '../../harness/nats.js';
import { runPgc } from '../../harness/pgc.js';
import { tempDir } from '../../harness/temp.js';
import { untilState } from './admin-helpers.js';
import {
  adminAs,
  byName,
  type CapturedLog,
  captureLog,
  connectAgent,
  healthAs,
  tlsCredentials,
} from './auth-helpers.js';
import { defineTestJobs, useControlEnv } from './harness.js';

const { env, setup } = useControlEnv();

let dir: ReturnType<typeof tempDir>;
let pki: TestPki;
beforeAll(() => {
  dir = tempDir();
  pki = makeTestPki(dir.path);
});
afterAll(() => dir[Symbol.dispose]());

async function mtlsControl(captured: CapturedLog) {
  const ctl = await setup(
    { tls: { caFile: pki.caFile, certFile: pki.server.certFile, keyFile: pki.server.keyFile } },
    { log: captured.log },
  );
  const address = byName(ctl.cp.grpcAddress);
  const operator = adminAs(address, tlsCredentials(pki.ca, pki.admin('root', 'operator')));
  const agentOptions = (endpointId: string, pair = pki.agent(endpointId)) => ({
    address,
    endpointId,
    queues: [ctl.queue],
    nc: env.nc,
    names: ctl.names,
    credentials: tlsCredentials(pki.ca, pair),
  });
  /** The endpoints the control plane knows, read with an operator certificate. */
  const endpoints = async () => {
    const r = await operator.listEndpoints();
    if (!('ok' in r)) throw new Error(`listing endpoints failed: ${r.code} ${r.details}`);
    return r.ok.endpoints.map((e) => ({ id: e.endpointId, drained: e.drained }));
  };
  return { ctl, address, operator, agentOptions, endpoints };
}

/** Log lines of the parts that handle calls: none may appear for a refused call. */
const handlerLines = (captured: CapturedLog) =>
  captured.lines().filter((l) => l.component === 'gateway' || l.component === 'admin');

describe('mutual TLS with client certificates required at the handshake', () => {
  it('refuses no certificate, self-signed, another CA, expired, not yet valid and no clientAuth before anything runs', async () => {
    const captured = captureLog();
    const { address, agentOptions, endpoints } = await mtlsControl(captured);
    const bad = {
      none: undefined,
      selfSigned: pki.selfSignedClient,
      otherCa: pki.foreignClient,
      expired: pki.expiredClient,
      notYetValid: pki.notYetValidClient,
      wrongEku: pki.wrongEkuClient,
    };
    for (const [name, pair] of Object.entries(bad)) {
      const creds = tlsCredentials(pki.ca, pair);
      const stream = await connectAgent(
        { ...agentOptions(`ep-${name}`), credentials: creds },
        env.defer,
      );
      expect(stream, name).toEqual({
        failure: expect.stringMatching(/ended without Welcome: 14 /),
      });
      expect(await adminAs(address, creds).listEndpoints(), name).toMatchObject({
        code: status.UNAVAILABLE,
      });
      expect(await healthAs(address, creds), name).toMatchObject({ code: status.UNAVAILABLE });
    }
    // The handshake failed: not even the interceptor saw a call, let alone a handler.
    expect(captured.find('call refused')).toEqual([]);
    expect(handlerLines(captured)).toEqual([]);
    expect(await endpoints()).toEqual([]);
  });

  it('refuses in the interceptor a certificate from the CA that names no identity or is not for clients', async () => {
    const captured = captureLog();
    const { agentOptions, endpoints } = await mtlsControl(captured);
    for (const pair of [pki.client('no-identity'), pki.noEkuClient]) {
      const stream = await connectAgent(agentOptions('ep-x', pair), env.defer);
      expect(stream).toEqual({
        failure: expect.stringContaining(`: ${status.PERMISSION_DENIED} `),
      });
    }
    const refused = captured.find('call refused');
    expect(refused.map((l) => [l.method, l.code, l.reason])).toEqual([
      [
        '/pgc.v1.AgentGateway/Connect',
        'PERMISSION_DENIED',
        expect.stringMatching(/names no pgc identity/),
      ],
      [
        '/pgc.v1.AgentGateway/Connect',
        'PERMISSION_DENIED',
        expect.stringMatching(/no clientAuth EKU/),
      ],
    ]);
    expect(handlerLines(captured)).toEqual([]);
    expect(await endpoints()).toEqual([]);
  });

  it("takes the endpoint from the certificate: a Hello for B over A's certificate is refused, logged, and changes nothing", async () => {
    const captured = captureLog();
    const { agentOptions, endpoints } = await mtlsControl(captured);
    const a = uniqueId('ep-a');
    const b = uniqueId('ep-b');
    const liar = await connectAgent(agentOptions(b, pki.agent(a)), env.defer);
    expect(liar).toEqual({
      failure: expect.stringMatching(
        new RegExp(
          `${status.PERMISSION_DENIED} endpoint ${b} does not match the client certificate \\(pgc:agent:${a}\\)`,
        ),
      ),
    });
    expect(captured.find('Hello names another endpoint than its certificate; refused')).toEqual([
      expect.objectContaining({ endpointId: b, certificate: a, level: 40 }),
    ]);
    expect(captured.find('endpoint connected')).toEqual([]);
    expect(await endpoints()).toEqual([]);
    // A's own first session is its first epoch: the refused Hello recorded nothing for A either.
    const honest = await connectAgent(agentOptions(a), env.defer);
    expect('agent' in honest && honest.agent.welcome?.epoch).toBe(1);
    expect(await endpoints()).toEqual([{ id: a, drained: false }]);
  });

  it('keeps agent certificates out of Admin and admin certificates out of AgentGateway', async () => {
    const captured = captureLog();
    const { ctl, address, agentOptions, endpoints } = await mtlsControl(captured);
    const endpointId = uniqueId('ep');
    const connected = await connectAgent(agentOptions(endpointId), env.defer);
    expect(connected).toHaveProperty('agent');
    const [pandaId] = await defineTestJobs(env.sim, ctl.queue, 1);
    const key = { pandaId: pandaId as number, attemptNr: 1 };
    await untilState(() => ctl.cp, key, JobState.ACCEPTED);
    const before = JSON.stringify(ctl.cp.job(key));

    const asAgent = adminAs(address, tlsCredentials(pki.ca, pki.agent(endpointId)));
    for (const outcome of [await asAgent.listEndpoints(), await asAgent.kill(key.pandaId)])
      expect(outcome).toEqual({
        code: status.PERMISSION_DENIED,
        details: `an agent certificate (agent ${endpointId}) cannot use the Admin service`,
      });
    const asAdmin = await connectAgent(
      agentOptions('otto', pki.admin('otto', 'operator')),
      env.defer,
    );
    expect(asAdmin).toEqual({
      failure: expect.stringContaining(
        `${status.PERMISSION_DENIED} an admin certificate (admin otto (operator)) cannot connect as an agent`,
      ),
    });

    expect(JSON.stringify(ctl.cp.job(key))).toBe(before);
    expect(await endpoints()).toEqual([{ id: endpointId, drained: false }]);
    expect(captured.find('call refused')).toHaveLength(3);
  });

  it('gives an admin certificate its role: a viewer reads but cannot kill or drain, an operator can', async () => {
    const captured = captureLog();
    const { ctl, address, agentOptions, operator, endpoints } = await mtlsControl(captured);
    const endpointId = uniqueId('ep');
    await connectAgent(agentOptions(endpointId), env.defer);
    const [pandaId] = await defineTestJobs(env.sim, ctl.queue, 1);
    const key = { pandaId: pandaId as number, attemptNr: 1 };
    await untilState(() => ctl.cp, key, JobState.ACCEPTED);
    const before = JSON.stringify(ctl.cp.job(key));

    const viewerPair = pki.admin('ann', 'viewer');
    const viewer = adminAs(address, tlsCredentials(pki.ca, viewerPair));
    expect(await viewer.listEndpoints()).toHaveProperty('ok');
    expect(await viewer.drain(endpointId)).toEqual({
      code: status.PERMISSION_DENIED,
      details: 'Drain needs the operator role; ann (certificate) is a viewer',
    });
    // The same denial through the real pgc binary, as the operator sees it.
    const tls = [
      '--tls-ca',
      pki.caFile,
      '--tls-cert',
      viewerPair.certFile,
      '--tls-key',
      viewerPair.keyFile,
    ];
    const run = await runPgc(['kill', String(key.pandaId), '--server', address, ...tls]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'pgc: permission denied: Kill needs the operator role; ann (certificate) is a viewer\n',
    );
    expect(JSON.stringify(ctl.cp.job(key))).toBe(before);
    expect(await endpoints()).toEqual([{ id: endpointId, drained: false }]);
    expect(captured.find('call refused').map((l) => l.caller)).toEqual([
      'ann (certificate)',
      'ann (certificate)',
    ]);

    expect(await operator.kill(key.pandaId)).toHaveProperty('ok');
    expect(ctl.cp.job(key)?.history.map((h) => h.type)).toContain('kill-requested');
    expect(captured.find('operator call')).toEqual([
      expect.objectContaining({ method: 'Kill', caller: 'root', via: 'certificate' }),
    ]);
  });
});
