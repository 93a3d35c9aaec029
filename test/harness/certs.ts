/**
 * Test certificates made with the openssl CLI: one CA with a server certificate (SANs for
 * localhost and 127.0.0.1, which grpc-js requires) and client certificates; a second CA for the
 * wrong-CA case; an expired client certificate.
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
  /** Client certificate issued by the CA, CN = the given client name. */
  client: (name: string) => CertPair;
  /** A client certificate from an unrelated CA. */
  foreignClient: CertPair;
  /** A client certificate from the right CA that expired yesterday. */
  expiredClient: CertPair;
  /** A self-signed client certificate. */
  selfSignedClient: CertPair;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

function makeCa(dir: string, name: string): void {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '2',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

function issue(
  dir: string,
  ca: string,
  name: string,
  cn: string,
  ext: string,
  days: string[] = ['-days', '2'],
): CertPair {
  openssl(dir, [
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${cn}`,
  ]);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    ...days,
    '-out',
    `${name}.crt`,
    '-extfile',
    `${name}.ext`,
  ]);
  chmodSync(join(dir, `${name}.key`), 0o600);
  return pair(dir, name);
}

function pair(dir: string, name: string): CertPair {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
}

const CLIENT_EXT =
  'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n';

export function makeTestPki(dir: string): TestPki {
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  const server = issue(
    dir,
    'ca',
    'server',
    'localhost',
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n',
  );
  const foreignClient = issue(dir, 'other-ca', 'foreign', 'foreign', CLIENT_EXT);
  // A validity window entirely in the past: `openssl x509 -req` cannot back-date, `openssl ca` can.
  writeFileSync(join(dir, 'index.txt'), '');
  openssl(dir, [
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'expired.key',
    '-out',
    'expired.csr',
    '-subj',
    '/CN=expired',
  ]);
  writeFileSync(join(dir, 'expired.ext'), CLIENT_EXT);
  writeFileSync(
    join(dir, 'ca.cnf'),
    `[ca]\ndefault_ca=test\n[test]\ndir=.\ndatabase=index.txt\nnew_certs_dir=.\nserial=ca.srl\ndefault_md=sha256\npolicy=any\n[any]\ncommonName=supplied\n`,
  );
  openssl(dir, [
    'ca',
    '-batch',
    '-config',
    'ca.cnf',
    '-cert',
    'ca.crt',
    '-keyfile',
    'ca.key',
    '-in',
    'expired.csr',
    '-out',
    'expired.crt',
    '-startdate',
    '20200101000000Z',
    '-enddate',
    '20200102000000Z',
    '-extfile',
    'expired.ext',
    '-notext',
  ]);
  chmodSync(join(dir, 'expired.key'), 0o600);
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '2',
    '-keyout',
    'self.key',
    '-out',
    'self.crt',
    '-subj',
    '/CN=self',
    '-addext',
    'extendedKeyUsage=clientAuth',
  ]);
  chmodSync(join(dir, 'self.key'), 0o600);
  const caFile = join(dir, 'ca.crt');
  return {
    caFile,
    ca: readFileSync(caFile),
    server,
    client: (name) => issue(dir, 'ca', `client-${name}`, name, CLIENT_EXT),
    foreignClient,
    expiredClient: pair(dir, 'expired'),
    selfSignedClient: pair(dir, 'self'),
  };
}
