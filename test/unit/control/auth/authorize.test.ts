import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import {
  authorize,
  authPolicy,
  type PresentedCredentials,
} from '../../../../control/auth/authorize.js';
import { AdminTokens, hashAdminToken } from '../../../../shared/admin-token.js';
import type { IdentityReading } from '../../../../shared/cert-identity.js';

const OPERATOR_TOKEN = 'pgc_operator';
const VIEWER_TOKEN = 'pgc_viewer';
const tokens = new AdminTokens([
  { name: 'olga', role: 'operator', sha256: hashAdminToken(OPERATOR_TOKEN) },
  { name: 'vic', role: 'viewer', sha256: hashAdminToken(VIEWER_TOKEN) },
]);
const none = new AdminTokens([]);

const agentCert: IdentityReading = { identity: { kind: 'agent', endpointId: 'ep1' } };
const viewerCert: IdentityReading = { identity: { kind: 'admin', name: 'ann', role: 'viewer' } };
const operatorCert: IdentityReading = {
  identity: { kind: 'admin', name: 'otto', role: 'operator' },
};
const anonymousCert: IdentityReading = { problem: 'the client certificate names no pgc identity' };

const KILL = '/pgc.v1.Admin/Kill';
const LIST = '/pgc.v1.Admin/ListJobs';
const CONNECT = '/pgc.v1.AgentGateway/Connect';
const HEALTH = '/grpc.health.v1.Health/Check';

function call(certificate?: IdentityReading, token?: string): PresentedCredentials {
  return { certificate, authorization: token === undefined ? [] : [`Bearer ${token}`] };
}

const mtls = authPolicy('127.0.0.1:7800', true, none);
const mtlsTokens = authPolicy('127.0.0.1:7800', true, tokens);
const loopback = authPolicy('127.0.0.1:7800', false, none);
const loopbackTokens = authPolicy('127.0.0.1:7800', false, tokens);
const network = authPolicy('0.0.0.0:7800', false, none);

describe('authorize', () => {
  it('leaves Admin open only on plaintext loopback without tokens', () => {
    expect(loopback.openAdmin).toBe(true);
    expect(authorize(KILL, call(), loopback)).toMatchObject({
      allowed: true,
      caller: { kind: 'admin', via: 'loopback', role: 'operator' },
    });
    for (const policy of [mtls, loopbackTokens, network, mtlsTokens]) {
      expect(policy.openAdmin).toBe(false);
      expect(authorize(LIST, call(), policy)).toMatchObject({
        allowed: false,
        code: status.UNAUTHENTICATED,
        message: expect.stringMatching(/needs credentials.*--token or PGC_TOKEN/),
      });
    }
  });

  it('keeps Health open to everyone', () => {
    for (const policy of [mtls, loopbackTokens, network])
      expect(authorize(HEALTH, call(), policy).allowed).toBe(true);
  });

  it('gives viewers the read calls and operators everything', () => {
    expect(authorize(LIST, call(viewerCert), mtls).allowed).toBe(true);
    expect(authorize(KILL, call(viewerCert), mtls)).toMatchObject({
      allowed: false,
      code: status.PERMISSION_DENIED,
      message: 'Kill needs the operator role; ann (certificate) is a viewer',
    });
    expect(authorize(KILL, call(operatorCert), mtls)).toMatchObject({
      allowed: true,
      caller: { name: 'otto', via: 'certificate' },
    });
    expect(
      authorize('/pgc.v1.Admin/Drain', call(undefined, VIEWER_TOKEN), loopbackTokens),
    ).toMatchObject({
      allowed: false,
      code: status.PERMISSION_DENIED,
      message: 'Drain needs the operator role; vic (token) is a viewer',
    });
    expect(authorize(KILL, call(undefined, OPERATOR_TOKEN), loopbackTokens)).toMatchObject({
      allowed: true,
      caller: { name: 'olga', role: 'operator', via: 'token' },
    });
  });

  it('refuses a wrong token even beside a good certificate, and never logs it', () => {
    const decision = authorize(LIST, call(operatorCert, 'pgc_wrong'), mtlsTokens);
    expect(decision).toMatchObject({
      allowed: false,
      code: status.UNAUTHENTICATED,
      message: 'the bearer token is not valid here',
    });
    expect(JSON.stringify(decision)).not.toContain('pgc_wrong');
    expect(authorize(LIST, call(undefined, 'pgc_x'), loopback)).toMatchObject({
      code: status.UNAUTHENTICATED,
      message: expect.stringMatching(/no admin tokens configured/),
    });
    expect(
      authorize(LIST, { certificate: undefined, authorization: ['Basic abc'] }, loopbackTokens),
    ).toMatchObject({ code: status.UNAUTHENTICATED, message: expect.stringMatching(/Bearer/) });
    expect(
      authorize(
        LIST,
        { certificate: undefined, authorization: [`Bearer ${OPERATOR_TOKEN}`, 'Bearer x'] },
        loopbackTokens,
      ),
    ).toMatchObject({ code: status.UNAUTHENTICATED });
  });

  it('keeps agent certificates out of Admin and admin certificates out of the gateway', () => {
    expect(authorize(LIST, call(agentCert), mtls)).toMatchObject({
      allowed: false,
      code: status.PERMISSION_DENIED,
      message: 'an agent certificate (agent ep1) cannot use the Admin service',
    });
    // Not even with a valid token: an agent's host is no place for an admin's power.
    expect(authorize(LIST, call(agentCert, OPERATOR_TOKEN), mtlsTokens).allowed).toBe(false);
    expect(authorize(CONNECT, call(operatorCert), mtls)).toMatchObject({
      allowed: false,
      code: status.PERMISSION_DENIED,
      message: 'an admin certificate (admin otto (operator)) cannot connect as an agent',
    });
    expect(authorize(CONNECT, call(agentCert), mtls)).toMatchObject({
      allowed: true,
      caller: { kind: 'agent', endpointId: 'ep1' },
    });
  });

  it('under TLS admits to the gateway only a certificate that names an agent', () => {
    expect(authorize(CONNECT, call(), mtlsTokens)).toMatchObject({
      code: status.UNAUTHENTICATED,
      message: expect.stringMatching(/agent needs a client certificate/),
    });
    expect(authorize(CONNECT, call(undefined, OPERATOR_TOKEN), mtlsTokens).allowed).toBe(false);
    expect(authorize(CONNECT, call(anonymousCert), mtls)).toMatchObject({
      code: status.PERMISSION_DENIED,
      message: anonymousCert.problem,
    });
    expect(authorize(LIST, call(anonymousCert), mtls)).toMatchObject({
      code: status.PERMISSION_DENIED,
    });
    // Plaintext: the gateway is open as before (loopback or --insecure only).
    expect(authorize(CONNECT, call(), loopbackTokens).allowed).toBe(true);
  });

  it('refuses methods it does not serve', () => {
    expect(
      authorize('/grpc.reflection.v1.ServerReflection/Info', call(operatorCert), mtls),
    ).toMatchObject({
      allowed: false,
      code: status.PERMISSION_DENIED,
    });
  });
});
