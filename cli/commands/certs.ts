/**
 * `pgc certs init|issue|token`: credentials for sites without a PKI of their own. init makes a
 * CA and the control plane's server certificate, issue makes agent and admin certificates
 * (cli/certs/), token makes an admin bearer token and the config line with its hash. Each prints
 * where the files went and the settings that use them.
 */
import { resolve } from 'node:path';
import { hashAdminToken, newAdminToken } from '../../shared/admin-token.js';
import {
  type AdminRole,
  adminIdentityUri,
  agentIdentityUri,
  isAdminRole,
} from '../../shared/cert-identity.js';
import { validateId } from '../../shared/ids.js';
import { initPki, issuePair, type WrittenPair } from '../certs/pki.js';
import type { CertificateProfile } from '../certs/profiles.js';
import { UsageError } from '../errors.js';
import type { CliIo } from '../program.js';

export const DEFAULT_HOSTS = ['localhost', '127.0.0.1'];

export interface CertsInitFlags {
  dir: string;
  host?: string[];
  days: number;
  caDays: number;
}

export interface CertsIssueFlags {
  dir: string;
  endpoint?: string;
  admin?: string;
  role?: string;
  days: number;
}

export interface CertsTokenFlags {
  name: string;
  role: string;
  json?: boolean;
}

const day = (d: Date): string => d.toISOString().slice(0, 10);

function parseRole(role: string | undefined, flag: string): AdminRole {
  if (role === undefined) throw new UsageError(`${flag} needs --role viewer|operator`);
  if (!isAdminRole(role))
    throw new UsageError(`--role must be viewer or operator, got ${JSON.stringify(role)}`);
  return role;
}

export async function runCertsInit(flags: CertsInitFlags, io: CliIo): Promise<void> {
  const dir = resolve(flags.dir);
  const hosts = flags.host && flags.host.length > 0 ? flags.host : DEFAULT_HOSTS;
  const result = await initPki(dir, { hosts, caDays: flags.caDays, serverDays: flags.days });
  const { server } = result;
  io.stdout(
    (result.ca
      ? `CA: ${result.ca.certFile}, valid until ${day(result.ca.notAfter)}\n` +
        `    ${result.ca.keyFile} signs every certificate: keep it off the control-plane host\n`
      : `CA: using the one already in ${dir}\n`) +
      `server certificate for ${hosts.join(', ')}, valid until ${day(server.notAfter)}:\n` +
      `    ${server.certFile}\n    ${server.keyFile} (mode 0600)\n` +
      `control plane config:\n  tls:\n    caFile: ${result.caCertFile}\n` +
      `    certFile: ${server.certFile}\n    keyFile: ${server.keyFile}\n` +
      `next: pgc certs issue --dir ${dir} --endpoint <id> for each agent, ` +
      `--admin <name> --role viewer|operator for each admin\n`,
  );
}

export async function runCertsIssue(flags: CertsIssueFlags, io: CliIo): Promise<void> {
  if ((flags.endpoint === undefined) === (flags.admin === undefined))
    throw new UsageError('say whom the certificate is for: --endpoint <id> or --admin <name>');
  const dir = resolve(flags.dir);
  const ca = resolve(dir, 'ca.crt');
  if (flags.endpoint !== undefined) {
    if (flags.role !== undefined) throw new UsageError('--role is for --admin certificates');
    const endpointId = validateId('endpoint id', flags.endpoint);
    const profile: CertificateProfile = { kind: 'agent', endpointId };
    const pair = await issuePair(dir, endpointId, profile, flags.days);
    io.stdout(
      `agent certificate for endpoint ${endpointId} (${agentIdentityUri(endpointId)}), ${until(pair)}` +
        `agent config:\n  tls:\n    caFile: ${ca}\n    certFile: ${pair.certFile}\n    keyFile: ${pair.keyFile}\n`,
    );
    return;
  }
  const name = validateId('admin name', flags.admin);
  const role = parseRole(flags.role, '--admin');
  const pair = await issuePair(dir, name, { kind: 'admin', name, role }, flags.days);
  io.stdout(
    `admin certificate for ${name}, role ${role} (${adminIdentityUri(name, role)}), ${until(pair)}` +
      `use it: pgc <verb> --tls-ca ${ca} --tls-cert ${pair.certFile} --tls-key ${pair.keyFile}\n` +
      '    (or PGC_TLS_CA_FILE, PGC_TLS_CERT_FILE, PGC_TLS_KEY_FILE)\n',
  );
}

function until(pair: WrittenPair): string {
  return `valid until ${day(pair.notAfter)}:\n    ${pair.certFile}\n    ${pair.keyFile} (mode 0600)\n`;
}

export function runCertsToken(flags: CertsTokenFlags, io: CliIo): void {
  const name = validateId('token name', flags.name);
  const role = parseRole(flags.role, '--name');
  const token = newAdminToken();
  const sha256 = hashAdminToken(token);
  if (flags.json) {
    io.stdout(`${JSON.stringify({ name, role, token, sha256 })}\n`);
    return;
  }
  io.stdout(
    `token for ${name} (${role}); it is shown only now, give it to ${name} (pgc reads PGC_TOKEN):\n` +
      `${token}\n` +
      `add to the control plane's config (only the hash is stored there):\n` +
      `adminTokens:\n  - { name: ${name}, role: ${role}, sha256: ${sha256} }\n`,
  );
}
