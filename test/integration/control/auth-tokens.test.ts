/**
 * Admin bearer tokens (issue #7): configured as hashes with a role, sent by `pgc` from --token or
 * PGC_TOKEN. On plaintext loopback, configuring tokens makes them required; under TLS they let
 * an admin in with nothing but the CA, which makes client certificates optional at the handshake,
 * so the interceptor alone must then turn away every certificate TLS did not verify. Each
 * refusal is checked for what did not happen.
 */
import { credentials, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobState } from '../../../control/job-record.js';
import { hashAdminToken, newAdminToken } from '../../../shared/admin-token.js';
import { makeTestPki, type TestPki } from '../../harness/certs.js';
import { uniqueId } from '../../harness/nats.js';
import { runPgc } from '../../harness/pgc.js';
import { tempDir } from '../../harness/temp.js';
import { json, untilState } from './admin-helpers.js';
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

const OPERATOR = newAdminToken();
const VIEWER = newAdminToken();
const adminTokens = [
  { name: 'olga', role: 'operator', sha256: hashAdminToken(OPERATOR) },
  { name: 'vic', role: 'viewer', sha256: hashAdminToken(VIEWER) },
];

let dir: ReturnType<typeof tempDir>;
let pki: TestPki;
beforeAll(() => {
  dir = tempDir();
  pki = makeTestPki(dir.path);
});
afterAll(() => dir[Symbol.dispose]());

const handlerLines = (captured: CapturedLog) =>
  captured.lines().filter((l) => l.component === 'gateway' || l.component === 'admin');

describe('admin tokens on plaintext loopback', () => {
  it('are required once configured: none or a wrong one is UNAUTHENTICATED, a viewer cannot kill, an operator can', async () => {
    const captured = captureLog();
    const ctl = await setup({ adminTokens }, { log: captured.log });
    const address = ctl.cp.grpcAddress;
    const plain = credentials.createInsecure();
    // Agents are not admins: the plaintext gateway stays as it was.
    await ctl.agent(uniqueId('ep'));
    const [pandaId] = await defineTestJobs(env.sim, ctl.queue, 1);
    const key = { pandaId: pandaId as number, attemptNr: 1 };
    await untilState(() => ctl.cp, key, JobState.ACCEPTED);
    const before = JSON.stringify(ctl.cp.job(key));

    expect(await adminAs(address, plain).listEndpoints()).toMatchObject({
      code: status.UNAUTHENTICATED,
      details: expect.stringMatching(/needs credentials/),
    });
    const wrong = `${OPERATOR.slice(0, -4)}AAAA`;
    const refused = await runPgc([
      'kill',
      String(key.pandaId),
      '--server',
      address,
      '--token',
      wrong,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `pgc: not authenticated: the bearer token is not valid here (the control plane at ${address})\n`,
    );
    const viewerKill = await runPgc(['kill', String(key.pandaId), '--server', address], {
      env: { PGC_TOKEN: VIEWER },
    });
    expect(viewerKill.code).toBe(1);
    expect(viewerKill.stderr).toBe(
      'pgc: permission denied: Kill needs the operator role; vic (token) is a viewer\n',
    );
    expect(JSON.stringify(ctl.cp.job(key))).toBe(before);
    expect(await healthAs(address, plain)).toHaveProperty('ok');

    const viewerList = await runPgc(['jobs', '--json', '--server', address, '--token', VIEWER]);
    expect(json<{ jobs: unknown[] }>(viewerList).jobs).toHaveLength(1);
    const kill = await runPgc(['kill', String(key.pandaId), '--json', '--server', address], {
      env: { PGC_TOKEN: OPERATOR },
    });
    expect(json(kill)).toMatchObject({ outcomes: [{ pandaId: key.pandaId, result: 'requested' }] });
    expect(ctl.cp.job(key)?.history.map((h) => h.type)).toContain('kill-requested');

    expect(captured.find('call refused').map((l) => [l.code, l.caller])).toEqual([
      ['UNAUTHENTICATED', 'no verified certificate'],
      ['UNAUTHENTICATED', 'no verified certificate, unknown token'],
      ['PERMISSION_DENIED', 'vic (token)'],
    ]);
    expect(captured.find('operator call')).toEqual([
      expect.objectContaining({ method: 'Kill', caller: 'olga', via: 'token' }),
    ]);
    // No token, right or wrong, reaches the log.
    const logText = JSON.stringify(captured.lines());
    for (const token of [OPERATOR, VIEWER, wrong]) expect(logText).not.toContain(token);
  });
});

describe('plaintext on a network address (--insecure)', () => {
  it('gives Admin to nobody without tokens, and says so at start', async () => {
    const captured = captureLog();
    const ctl = await setup({ listen: '0.0.0.0:0', insecure: true }, { log: captured.log });
    const address = ctl.cp.grpcAddress.replace(/^0\.0\.0\.0:/, '127.0.0.1:');
    expect(
      captured.find(
        'plaintext gRPC on a network address: Admin calls are refused until adminTokens are configured',
      ),
    ).toHaveLength(1);
    expect(await adminAs(address, credentials.createInsecure()).listEndpoints()).toMatchObject({
      code: status.UNAUTHENTICATED,
    });
    expect(await healthAs(address, credentials.createInsecure())).toHaveProperty('ok');
  });
});

describe('admin tokens with mutual TLS (client certificates optional at the handshake)', () => {
  async function tlsControl(captured: CapturedLog) {
    const ctl = await setup(
      {
        adminTokens,
        tls: { caFile: pki.caFile, certFile: pki.server.certFile, keyFile: pki.server.keyFile },
      },
      { log: captured.log },
    );
    return { ctl, address: byName(ctl.cp.grpcAddress) };
  }

  it('let a token holder in with only the CA, and keep Health open to probes without a certificate', async () => {
    const captured = captureLog();
    const { ctl, address } = await tlsControl(captured);
    const endpointId = uniqueId('ep');
    const agent = await connectAgent(
      {
        address,
        endpointId,
        queues: [ctl.queue],
        nc: env.nc,
        names: ctl.names,
        credentials: tlsCredentials(pki.ca, pki.agent(endpointId)),
      },
      env.defer,
    );
    expect(agent).toHaveProperty('agent');
    const run = await runPgc(['endpoints', '--json', '--server', address, '--tls-ca', pki.caFile], {
      env: { PGC_TOKEN: VIEWER },
    });
    expect(json<{ endpoints: Array<{ endpointId: string }> }>(run).endpoints).toEqual([
      expect.objectContaining({ endpointId }),
    ]);
    const caOnly = tlsCredentials(pki.ca);
    expect(await healthAs(address, caOnly)).toHaveProperty('ok');
    expect(await adminAs(address, caOnly).listEndpoints()).toMatchObject({
      code: status.UNAUTHENTICATED,
    });
    expect(await adminAs(address, caOnly, 'pgc_not-a-token').listEndpoints()).toMatchObject({
      code: status.UNAUTHENTICATED,
      details: 'the bearer token is not valid here',
    });
  });

  it('turn away at the interceptor every agent certificate TLS did not verify, and record nothing', async () => {
    const captured = captureLog();
    const { ctl, address } = await tlsControl(captured);
    // Each bad certificate names an agent identity of its own (test/harness/certs.ts).
    const bad = {
      none: [undefined, 'nobody'],
      selfSigned: [pki.selfSignedClient, 'self'],
      otherCa: [pki.foreignClient, 'foreign'],
      expired: [pki.expiredClient, 'expired'],
      notYetValid: [pki.notYetValidClient, 'future'],
      wrongEku: [pki.wrongEkuClient, 'wrong-eku'],
    } as const;
    for (const [name, [pair, endpointId]] of Object.entries(bad)) {
      const stream = await connectAgent(
        {
          address,
          endpointId,
          queues: [ctl.queue],
          nc: env.nc,
          names: ctl.names,
          credentials: tlsCredentials(pki.ca, pair),
        },
        env.defer,
      );
      expect(stream, name).toEqual({
        failure: expect.stringContaining(
          `${status.UNAUTHENTICATED} an agent needs a client certificate from the control plane's CA`,
        ),
      });
    }
    expect(captured.find('call refused')).toHaveLength(Object.keys(bad).length);
    expect(handlerLines(captured)).toEqual([]);
    const listed = await adminAs(address, tlsCredentials(pki.ca), OPERATOR).listEndpoints();
    expect(listed).toEqual({ ok: { endpoints: [] } });
  });
});
