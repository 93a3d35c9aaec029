/**
 * Who may call what on the control plane's port: one pure decision per call, from the method,
 * the verified client certificate (if any) and the `authorization` metadata (docs/protocol.md,
 * "Identities and roles"). No I/O, so every rule is unit-tested alone; auth-interceptor.ts
 * applies the decision before any handler runs.
 *
 * - Health: open.
 * - AgentGateway: under mutual TLS only an agent certificate (pgc:agent:<id>); the Hello must then
 *   name the same endpoint (gateway.ts). Plaintext (loopback or --insecure): open, as before.
 * - Admin: a bearer token or an admin certificate (pgc:admin:<name>:<role>) whose role covers the
 *   method. A token, when sent, decides alone (a wrong one is refused even beside a good
 *   certificate). An agent certificate is refused whatever comes with it. With no credentials
 *   the call passes only when the policy is `openAdmin`: plaintext on a loopback address and no
 *   tokens configured (zero-config on one machine).
 * - Anything else: refused.
 */
import { status } from '@grpc/grpc-js';
import type { AdminTokens } from '../../shared/admin-token.js';
import { bearerToken } from '../../shared/admin-token.js';
import {
  type AdminRole,
  describeIdentity,
  type IdentityReading,
} from '../../shared/cert-identity.js';
import { isLoopbackHost, parseHostPort } from '../../shared/tls.js';
import { callAccess, roleSuffices } from './call-access.js';

export interface AuthPolicy {
  /** Mutual TLS is configured: AgentGateway needs an agent certificate. */
  tls: boolean;
  tokens: AdminTokens;
  /** Admin calls without credentials pass (plaintext on loopback, no tokens configured). */
  openAdmin: boolean;
}

export interface PresentedCredentials {
  /** What the verified client certificate says; undefined when none was verified. */
  certificate: IdentityReading | undefined;
  /** Every `authorization` metadata value sent (normally none or one). */
  authorization: readonly string[];
}

export type Caller =
  | { kind: 'anonymous' }
  | { kind: 'agent'; endpointId: string }
  | { kind: 'admin'; name: string; role: AdminRole; via: 'certificate' | 'token' | 'loopback' };

export type Decision =
  | { allowed: true; caller: Caller }
  | {
      allowed: false;
      code: status.UNAUTHENTICATED | status.PERMISSION_DENIED;
      /** Sent to the client and logged: says what is missing and what to do. */
      message: string;
      /** Who the refused caller claimed to be, for the log (never a token). */
      who: string;
    };

/**
 * The policy of a control plane. Credential-less Admin calls pass only where nobody but local
 * users can reach the port: plaintext on a loopback address with no tokens configured. Plaintext
 * on a network address (--insecure) gives Admin to token holders only.
 */
export function authPolicy(listen: string, tls: boolean, tokens: AdminTokens): AuthPolicy {
  const loopback = isLoopbackHost(parseHostPort(listen).host);
  return { tls, tokens, openAdmin: !tls && loopback && !tokens.configured };
}

const deny = (
  code: status.UNAUTHENTICATED | status.PERMISSION_DENIED,
  message: string,
  who: string,
): Decision => ({ allowed: false, code, message, who });

function describeCertificate(reading: IdentityReading | undefined): string {
  if (reading === undefined) return 'no verified certificate';
  return 'identity' in reading
    ? describeIdentity(reading.identity)
    : 'certificate without identity';
}

export function authorize(
  path: string,
  presented: PresentedCredentials,
  policy: AuthPolicy,
): Decision {
  const access = callAccess(path);
  const cert = presented.certificate;
  const who = describeCertificate(cert);
  switch (access.service) {
    case 'health':
      return { allowed: true, caller: { kind: 'anonymous' } };
    case 'unknown':
      return deny(status.PERMISSION_DENIED, `${path} is not served here`, who);
    case 'agent': {
      if (!policy.tls) return { allowed: true, caller: { kind: 'anonymous' } };
      if (cert === undefined)
        return deny(
          status.UNAUTHENTICATED,
          "an agent needs a client certificate from the control plane's CA (none was sent, or it did not verify)",
          who,
        );
      if ('problem' in cert) return deny(status.PERMISSION_DENIED, cert.problem, who);
      if (cert.identity.kind !== 'agent')
        return deny(
          status.PERMISSION_DENIED,
          `an admin certificate (${who}) cannot connect as an agent`,
          who,
        );
      return { allowed: true, caller: { kind: 'agent', endpointId: cert.identity.endpointId } };
    }
    case 'admin': {
      const caller = adminCaller(presented, policy);
      if ('code' in caller) return caller;
      if (!roleSuffices(caller.role, access.role)) {
        const name = `${caller.name} (${caller.via})`;
        return deny(
          status.PERMISSION_DENIED,
          `${access.method} needs the ${access.role} role; ${name} is a ${caller.role}`,
          name,
        );
      }
      return { allowed: true, caller };
    }
  }
}

function adminCaller(
  presented: PresentedCredentials,
  policy: AuthPolicy,
): Extract<Caller, { kind: 'admin' }> | Extract<Decision, { allowed: false }> {
  const cert = presented.certificate;
  const who = describeCertificate(cert);
  if (cert !== undefined && 'identity' in cert && cert.identity.kind === 'agent')
    return {
      allowed: false,
      code: status.PERMISSION_DENIED,
      message: `an agent certificate (${who}) cannot use the Admin service`,
      who,
    };
  if (presented.authorization.length > 1)
    return {
      allowed: false,
      code: status.UNAUTHENTICATED,
      message: 'send one authorization metadata, not several',
      who,
    };
  const header = presented.authorization[0];
  if (header !== undefined) {
    const parsed = bearerToken(header);
    if ('problem' in parsed)
      return { allowed: false, code: status.UNAUTHENTICATED, message: parsed.problem, who };
    const entry = policy.tokens.match(parsed.token);
    if (entry === undefined)
      return {
        allowed: false,
        code: status.UNAUTHENTICATED,
        message: policy.tokens.configured
          ? 'the bearer token is not valid here'
          : 'the bearer token is not valid here: this control plane has no admin tokens configured',
        who: `${who}, unknown token`,
      };
    return { kind: 'admin', name: entry.name, role: entry.role, via: 'token' };
  }
  if (cert !== undefined && 'problem' in cert)
    return { allowed: false, code: status.PERMISSION_DENIED, message: cert.problem, who };
  if (cert !== undefined && 'identity' in cert && cert.identity.kind === 'admin')
    return {
      kind: 'admin',
      name: cert.identity.name,
      role: cert.identity.role,
      via: 'certificate',
    };
  if (policy.openAdmin) return { kind: 'admin', name: 'local', role: 'operator', via: 'loopback' };
  return {
    allowed: false,
    code: status.UNAUTHENTICATED,
    message:
      'the Admin service needs credentials: an admin certificate (--tls-cert/--tls-key) or a bearer token (--token or PGC_TOKEN)',
    who,
  };
}
