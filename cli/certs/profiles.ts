/**
 * What each kind of certificate pgc certs makes says (docs/protocol.md, "Identities and roles"):
 * its subject, and the X.509v3 extensions in OpenSSL's config syntax. Every value that reaches
 * these texts is checked first (ids by ID_PATTERN, hosts below), so nothing can inject another
 * extension or subject field.
 */
import { isIP } from 'node:net';
import { type AdminRole, adminIdentityUri, agentIdentityUri } from '../../shared/cert-identity.js';
import { validateId } from '../../shared/ids.js';
import { UsageError } from '../errors.js';

export type CertificateProfile =
  | { kind: 'ca' }
  /** The control plane's server certificate: a SAN per host agents and admins dial. */
  | { kind: 'server'; hosts: readonly string[] }
  | { kind: 'agent'; endpointId: string }
  | { kind: 'admin'; name: string; role: AdminRole };

const DNS_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** A SAN entry for a host: IP:… for an address, DNS:… for a name. */
export function hostSan(host: string): string {
  if (isIP(host) !== 0) return `IP:${host}`;
  if (!DNS_NAME.test(host))
    throw new UsageError(`--host ${JSON.stringify(host)} is neither an IP address nor a DNS name`);
  return `DNS:${host}`;
}

/** The certificate's subject for `openssl req -subj`. The CN is for people; pgc reads the SAN. */
export function subjectOf(profile: CertificateProfile, now = new Date()): string {
  switch (profile.kind) {
    case 'ca':
      return `/O=panda-gc/CN=pgc CA ${now.toISOString().slice(0, 10)}`;
    case 'server':
      return `/O=panda-gc/OU=pgc-server/CN=${profile.hosts[0] ?? 'localhost'}`;
    case 'agent':
      return `/O=panda-gc/OU=pgc-agent/CN=${validateId('endpoint id', profile.endpointId)}`;
    case 'admin':
      return `/O=panda-gc/OU=pgc-admin/CN=${validateId('admin name', profile.name)}`;
  }
}

/** The `[ext]` section of the extensions file. */
export function extensionsOf(profile: CertificateProfile): string {
  const leaf = [
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature',
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
  ];
  const lines = ((): string[] => {
    switch (profile.kind) {
      case 'ca':
        return [
          // pathlen:0: this CA signs leaf certificates only, never another CA.
          'basicConstraints = critical, CA:TRUE, pathlen:0',
          'keyUsage = critical, keyCertSign, cRLSign',
          'subjectKeyIdentifier = hash',
        ];
      case 'server':
        return [
          ...leaf,
          'extendedKeyUsage = serverAuth',
          `subjectAltName = ${profile.hosts.map(hostSan).join(', ')}`,
        ];
      case 'agent':
        return [
          ...leaf,
          'extendedKeyUsage = clientAuth',
          `subjectAltName = URI:${agentIdentityUri(validateId('endpoint id', profile.endpointId))}`,
        ];
      case 'admin':
        return [
          ...leaf,
          'extendedKeyUsage = clientAuth',
          `subjectAltName = URI:${adminIdentityUri(validateId('admin name', profile.name), profile.role)}`,
        ];
    }
  })();
  return `[ext]\n${lines.join('\n')}\n`;
}

/**
 * A minimal configuration for `openssl req`, so a site's openssl.cnf (which may add its own
 * extensions or prompt for fields) plays no part; -subj gives the subject.
 */
export const REQ_CONFIG = '[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = pgc\n';
