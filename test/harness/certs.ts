/**
 * Test certificates made with the openssl CLI: one CA with a server certificate (SANs for
 * localhost and 127.0.0.1, which grpc-js requires) and client certificates; a second CA for the
 * wrong-CA case; an expired and a self-signed client certificate.
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
  /** A client certificate from the right CA whose validity ended in 2020. */
  expiredClient: CertPair;
  /** A self-signed client certificate. */
  selfSignedClient: CertPair;
}

const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
const CLIENT_EXT =
  'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n';
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

/** `openssl x509 -req` cannot back-date a certificate; `openssl ca` can. */
function issueExpired(dir: string, ca: string, name: string): CertPair {
  request(dir, name, name, CLIENT_EXT);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(
    join(dir, 'ca.cnf'),
    '[ca]\ndefault_ca=test\n[test]\ndir=.\ndatabase=index.txt\nnew_certs_dir=.\nserial=ca.srl\ndefault_md=sha256\npolicy=any\n[any]\ncommonName=supplied\n',
  );
  const window = ['-startdate', '20200101000000Z', '-enddate', '20200102000000Z'];
  const signer = ['-config', 'ca.cnf', '-cert', `${ca}.crt`, '-keyfile', `${ca}.key`];
  openssl(dir, [
    'ca',
    '-batch',
    ...signer,
    '-in',
    `${name}.csr`,
    '-out',
    `${name}.crt`,
    ...window,
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
    foreignClient: issue(dir, 'other-ca', 'foreign', 'foreign', CLIENT_EXT),
    expiredClient: issueExpired(dir, 'ca', 'expired'),
    selfSignedClient: selfSigned(dir, 'self', ['extendedKeyUsage=clientAuth']),
  };
}
