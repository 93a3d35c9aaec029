/**
 * Who a client certificate speaks for (wire contract, docs/protocol.md "Identities and roles").
 * A certificate carries exactly one URI subjectAltName in the `pgc:` scheme:
 *
 *   pgc:agent:<endpointId>            an agent; may only open AgentGateway.Connect as that endpoint
 *   pgc:admin:<name>:<role>           a person or script; may only call Admin, with that role
 *
 * The CN is for people reading the certificate and is never trusted: CNs are free text that many
 * CAs fill from a request, RFC 6125 retired them for identity, and a typed SAN says what the
 * certificate is for as well as whom. `pgc certs issue` writes these SANs (cli/certs/); a site's
 * own CA can too (any CA that can put a URI SAN in a certificate).
 */
import type { PeerCertificate } from 'node:tls';
import { ID_PATTERN } from './ids.js';

/** viewer: read-only Admin calls; operator: also Kill, Drain, Undrain. */
export const ADMIN_ROLES = ['viewer', 'operator'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

export type CertificateIdentity =
  | { kind: 'agent'; endpointId: string }
  | { kind: 'admin'; name: string; role: AdminRole };

/** What a verified certificate says: one identity, or why it says none. */
export type IdentityReading = { identity: CertificateIdentity } | { problem: string };

/** OID of the clientAuth extended key usage (RFC 5280 §4.2.1.12). */
export const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';

const SCHEME = 'pgc:';

export function isAdminRole(value: string): value is AdminRole {
  return (ADMIN_ROLES as readonly string[]).includes(value);
}

/** The URI SAN of an agent certificate. */
export function agentIdentityUri(endpointId: string): string {
  return `${SCHEME}agent:${endpointId}`;
}

/** The URI SAN of an admin certificate. */
export function adminIdentityUri(name: string, role: AdminRole): string {
  return `${SCHEME}admin:${name}:${role}`;
}

/** A one-line description for logs and error messages. */
export function describeIdentity(identity: CertificateIdentity): string {
  return identity.kind === 'agent'
    ? `agent ${identity.endpointId}`
    : `admin ${identity.name} (${identity.role})`;
}

/** Parses one `pgc:` URI; undefined when it is malformed. */
export function parseIdentityUri(uri: string): CertificateIdentity | undefined {
  const parts = uri.split(':');
  if (parts[0] !== 'pgc') return undefined;
  if (parts.length === 3 && parts[1] === 'agent' && ID_PATTERN.test(parts[2] ?? ''))
    return { kind: 'agent', endpointId: parts[2] as string };
  const [, kind, name = '', role = ''] = parts;
  if (parts.length === 4 && kind === 'admin' && ID_PATTERN.test(name) && isAdminRole(role))
    return { kind: 'admin', name, role };
  return undefined;
}

/**
 * The `pgc:` URIs of Node's `subjectaltname` string ("URI:pgc:agent:a, DNS:x"). Node quotes a
 * value holding a comma or a quote as a JSON string, so such a value never splits into a
 * well-formed `pgc:` entry: the strict parse above refuses what is left of it.
 */
export function pgcUris(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  return subjectAltName
    .split(', ')
    .filter((entry) => entry.startsWith(`URI:${SCHEME}`) || entry.startsWith(`URI:"${SCHEME}`))
    .map((entry) => entry.slice('URI:'.length));
}

/**
 * Reads the identity of a certificate that TLS has already verified against the CA. It must
 * carry exactly one well-formed `pgc:` URI and say clientAuth in its extended key usage: OpenSSL
 * refuses a certificate whose EKU lacks clientAuth, but accepts one with no EKU at all, and a
 * pgc certificate says what it is for.
 */
export function readCertificateIdentity(cert: PeerCertificate): IdentityReading {
  const uris = pgcUris(cert.subjectaltname);
  if (uris.length === 0)
    return {
      problem:
        'the client certificate names no pgc identity (a URI SAN pgc:agent:<endpoint> or pgc:admin:<name>:<role>)',
    };
  if (uris.length > 1)
    return {
      problem: `the client certificate names ${uris.length} pgc identities; it may name one`,
    };
  const identity = parseIdentityUri(uris[0] as string);
  if (identity === undefined)
    return {
      problem: `the client certificate's identity ${JSON.stringify(uris[0])} is not pgc:agent:<endpoint> or pgc:admin:<name>:viewer|operator`,
    };
  if (!cert.ext_key_usage?.includes(CLIENT_AUTH_OID))
    return {
      problem: 'the client certificate is not for client authentication (no clientAuth EKU)',
    };
  return { identity };
}
