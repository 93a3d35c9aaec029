/**
 * Test certificates made with the openssl CLI, independently of `pgc certs` (so a bug there
 * cannot hide in both): one CA with a server certificate (SANs for localhost and 127.0.0.1,
 * which grpc-js requires), plain client certificates, agent and admin certificates with their
 * pgc identity SANs (shared/cert-identity.ts), and the bad ones of RELIABILITY.md test 58: from
 * another CA, self-signed, expired, not yet valid, without clientAuth, with no EKU at all. Each
 * bad one names an agent identity, so only what is wrong with it can be why it is refused.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CertPair {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
}

export interface TestPki {
  caFile: string;
  ca: Buffer;
  server: CertPair;
  /** Client certificate issued by the CA, CN = the given client name, no pgc identity. */
  client: (name: string) => CertPair;
  /** Agent certificate: URI SAN pgc:agent:<endpointId>, clientAuth. */
  agent: (endpointId: string) => CertPair;
  /** Admin certificate: URI SAN pgc:admin:<name>:<role>, clientAuth. */
  admin: (name: string, role: 'viewer' | 'operator') => CertPair;
  /** A client certificate from an unrelated CA (pgc:agent:foreign). */
  foreignClient: CertPair;
  /** A client certificate from the right CA whose validity ended in 2020 (pgc:agent:expired). */
  expiredClient: CertPair;
  /** A self-signed client certificate (pgc:agent:self). */
  selfSignedClient: CertPair;
  /** From the right CA, valid from 2099 (pgc:agent:future). */
  notYetValidClient: CertPair;
  /** From the right CA, extended key usage serverAuth only (pgc:agent:wrong-eku). */
  wrongEkuClient: CertPair;
  /** From the right CA, no extended key usage at all (pgc:agent:no-eku). */
  noEkuClient: CertPair;
}

const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
const CLIENT_EXT =
  'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n';
const withUri = (ext: string, uri: string): string => `${ext}subjectAltName=URI:${uri}\n`;
const agentExt = (id: string): string => withUri(CLIENT_EXT, `pgc:agent:${id}`);
const SERVER_EXT =
  'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n';

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

function pair(dir: string, name: string): CertPair {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  chmodSync(keyFile, 0o600);
  return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
}

function selfSigned(dir: string, name: string, extensions: string[]): CertPair {
  const addext = extensions.flatMap((e) => ['-addext', e]);
  openssl(dir, [
    'req',
    '-x509',
    ...NEW_KEY,
    '-days',
    '2',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-subj',
    `/CN=${name}`,
    ...addext,
  ]);
  return pair(dir, name);
}

/** A key and signing request, with the extensions file the signer will apply. */
function request(dir: string, name: string, cn: string, ext: string): void {
  openssl(dir, [
    'req',
    ...NEW_KEY,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${cn}`,
  ]);
  writeFileSync(join(dir, `${name}.ext`), ext);
}

function issue(dir: string, ca: string, name: string, cn: string, ext: string): CertPair {
  request(dir, name, cn, ext);
  const signer = ['-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '2'];
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    ...signer,
    '-out',
    `${name}.crt`,
    '-extfile',
    `${name}.ext`,
  ]);
  return pair(dir, name);
}

/** `openssl x509 -req` cannot choose the validity window; `openssl ca` can. */
function issueWindow(
  dir: string,
  ca: string,
  name: string,
  window: { start: string; end: string },
): CertPair {
  request(dir, name, name, agentExt(name));
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(
    join(dir, 'ca.cnf'),
    '[ca]\ndefault_ca=test\n[test]\ndir=.\ndatabase=index.txt\nnew_certs_dir=.\nserial=ca.srl\ndefault_md=sha256\npolicy=any\n[any]\ncommonName=supplied\n',
  );
  const dates = ['-startdate', window.start, '-enddate', window.end];
  const signer = ['-config', 'ca.cnf', '-cert', `${ca}.crt`, '-keyfile', `${ca}.key`];
  openssl(dir, [
    'ca',
    '-batch',
    ...signer,
    '-in',
    `${name}.csr`,
    '-out',
    `${name}.crt`,
    ...dates,
    '-extfile',
    `${name}.ext`,
    '-notext',
  ]);
  return pair(dir, name);
}

export function makeTestPki(dir: string): TestPki {
  const caExtensions = [
    'basicConstraints=critical,CA:TRUE',
    'keyUsage=critical,keyCertSign,cRLSign',
  ];
  const ca = selfSigned(dir, 'ca', caExtensions);
  selfSigned(dir, 'other-ca', caExtensions);
  return {
    caFile: ca.certFile,
    ca: ca.cert,
    server: issue(dir, 'ca', 'server', 'localhost', SERVER_EXT),
    client: (name) => issue(dir, 'ca', `client-${name}`, name, CLIENT_EXT),
    agent: (id) => issue(dir, 'ca', `agent-${id}`, id, agentExt(id)),
    admin: (name, role) =>
      issue(dir, 'ca', `admin-${name}`, name, withUri(CLIENT_EXT, `pgc:admin:${name}:${role}`)),
    foreignClient: issue(dir, 'other-ca', 'foreign', 'foreign', agentExt('foreign')),
    expiredClient: issueWindow(dir, 'ca', 'expired', {
      start: '20200101000000Z',
      end: '20200102000000Z',
    }),
    selfSignedClient: selfSigned(dir, 'self', [
      'extendedKeyUsage=clientAuth',
      'subjectAltName=URI:pgc:agent:self',
    ]),
    notYetValidClient: issueWindow(dir, 'ca', 'future', {
      start: '20990101000000Z',
      end: '20990102000000Z',
    }),
    wrongEkuClient: issue(
      dir,
      'ca',
      'wrong-eku',
      'wrong-eku',
      withUri(
        'extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n',
        'pgc:agent:wrong-eku',
      ),
    ),
    noEkuClient: issue(
      dir,
      'ca',
      'no-eku',
      'no-eku',
      withUri('keyUsage=critical,digitalSignature\n', 'pgc:agent:no-eku'),
    ),
  };
}
