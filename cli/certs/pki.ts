/**
 * A small PKI in one directory for sites without their own (`pgc certs init|issue`): `ca.crt`
 * and `ca.key`, the control plane's `server.crt`/`.key`, and one `<name>.crt`/`.key` per agent
 * or admin. Keys are EC P-256, made by Node and written 0600; openssl signs (openssl.ts). Nothing
 * is ever overwritten: every file is created exclusively, after checking that none of a set
 * exists, and a set is removed again when a later file of it cannot be written.
 */
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PgcError } from '../../shared/errors.js';
import { FailureCode } from '../../shared/gen/pgc/v1/common.js';
import { openssl } from './openssl.js';
import { type CertificateProfile, extensionsOf, REQ_CONFIG, subjectOf } from './profiles.js';

export interface WrittenPair {
  certFile: string;
  keyFile: string;
  notAfter: Date;
}

/** A problem the operator fixes (a file in the way, no CA): exit status 1, message says what. */
export class PkiError extends PgcError {
  override name = 'PkiError';
  constructor(message: string) {
    super(FailureCode.FAILED_PRECONDITION, message);
  }
}

const CA = { cert: 'ca.crt', key: 'ca.key' };

function newKeyPem(): string {
  return generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  }).privateKey;
}

/** A random positive 128-bit serial (RFC 5280: unique per CA, at most 20 octets). */
function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x10;
  return `0x${bytes.toString('hex')}`;
}

/** Work files (the new key, configs) live in a private directory inside `dir`, removed after. */
async function withWorkDir<T>(dir: string, fn: (work: string) => Promise<T>): Promise<T> {
  const work = await mkdtemp(join(dir, '.pgc-certs-'));
  try {
    return await fn(work);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );
}

/** Refuses early, naming every file in the way, so nothing of a set is written. */
async function assertAbsent(paths: readonly string[]): Promise<void> {
  const present: string[] = [];
  for (const p of paths) if (await exists(p)) present.push(p);
  if (present.length > 0)
    throw new PkiError(
      `refusing to overwrite ${present.join(', ')}: pgc certs never replaces a key or certificate; move ${present.length === 1 ? 'it' : 'them'} away first`,
    );
}

interface NewFile {
  path: string;
  data: string | Buffer;
  mode: number;
}

/** Creates every file exclusively (O_EXCL) with its exact mode; all or none. */
async function writeAllNew(files: readonly NewFile[]): Promise<void> {
  await assertAbsent(files.map((f) => f.path));
  const written: string[] = [];
  try {
    for (const f of files) {
      await writeFile(f.path, f.data, { flag: 'wx', mode: f.mode });
      written.push(f.path);
      await chmod(f.path, f.mode); // the umask may have narrowed it; say exactly what it is
    }
  } catch (err) {
    for (const p of written) await unlink(p).catch(() => {});
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw new PkiError(`refusing to overwrite ${(err as NodeJS.ErrnoException).path}`);
    throw err;
  }
}

/** Self-signs the CA certificate. */
async function makeCa(dir: string, days: number): Promise<{ cert: Buffer; key: string }> {
  const key = newKeyPem();
  const profile: CertificateProfile = { kind: 'ca' };
  const cert = await withWorkDir(dir, async (work) => {
    await writeFile(join(work, 'key.pem'), key, { mode: 0o600 });
    await writeFile(join(work, 'req.cnf'), REQ_CONFIG + extensionsOf(profile));
    return openssl([
      'req',
      '-new',
      '-x509',
      '-config',
      join(work, 'req.cnf'),
      '-extensions',
      'ext',
      '-key',
      join(work, 'key.pem'),
      '-subj',
      subjectOf(profile),
      '-days',
      String(days),
      '-sha256',
      '-set_serial',
      serial(),
    ]);
  });
  return { cert, key };
}

/** A key and a certificate for `profile`, signed by the CA in `dir`. */
async function signLeaf(
  dir: string,
  profile: CertificateProfile,
  days: number,
): Promise<{ cert: Buffer; key: string }> {
  const key = newKeyPem();
  const cert = await withWorkDir(dir, async (work) => {
    await writeFile(join(work, 'key.pem'), key, { mode: 0o600 });
    await writeFile(join(work, 'req.cnf'), REQ_CONFIG);
    await writeFile(join(work, 'ext.cnf'), extensionsOf(profile));
    const csr = await openssl([
      'req',
      '-new',
      '-config',
      join(work, 'req.cnf'),
      '-key',
      join(work, 'key.pem'),
      '-subj',
      subjectOf(profile),
    ]);
    return openssl(
      [
        'x509',
        '-req',
        '-CA',
        join(dir, CA.cert),
        '-CAkey',
        join(dir, CA.key),
        '-set_serial',
        serial(),
        '-days',
        String(days),
        '-sha256',
        '-extfile',
        join(work, 'ext.cnf'),
        '-extensions',
        'ext',
      ],
      csr.toString('utf8'),
    );
  });
  return { cert, key };
}

async function writePair(
  dir: string,
  name: string,
  pair: { cert: Buffer; key: string },
): Promise<WrittenPair> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  await writeAllNew([
    { path: keyFile, data: pair.key, mode: 0o600 },
    { path: certFile, data: pair.cert, mode: 0o644 },
  ]);
  return { certFile, keyFile, notAfter: new Date(new X509Certificate(pair.cert).validTo) };
}

/** Is there a CA in `dir`? Both files, or neither; a CA key others can read is refused. */
async function caPresent(dir: string): Promise<boolean> {
  const [cert, key] = await Promise.all([exists(join(dir, CA.cert)), exists(join(dir, CA.key))]);
  if (cert !== key)
    throw new PkiError(
      `${dir} holds ${cert ? CA.cert : CA.key} without ${cert ? CA.key : CA.cert}: restore the pair or use another directory`,
    );
  if (key && ((await stat(join(dir, CA.key))).mode & 0o077) !== 0)
    throw new PkiError(`${join(dir, CA.key)} is readable by group or others: chmod 600 it first`);
  return cert;
}

export interface InitResult {
  /** undefined when the directory already held a CA, which was used. */
  ca: WrittenPair | undefined;
  caCertFile: string;
  server: WrittenPair;
}

/**
 * Makes the CA (unless `dir` holds one already: then only a new server certificate, which is
 * how that certificate is renewed) and the control plane's server certificate.
 */
export async function initPki(
  dir: string,
  options: { hosts: readonly string[]; caDays: number; serverDays: number },
): Promise<InitResult> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await assertAbsent([join(dir, 'server.crt'), join(dir, 'server.key')]);
  const server: CertificateProfile = { kind: 'server', hosts: options.hosts };
  extensionsOf(server); // checks the hosts before anything is made
  let ca: WrittenPair | undefined;
  if (!(await caPresent(dir))) ca = await writePair(dir, 'ca', await makeCa(dir, options.caDays));
  return {
    ca,
    caCertFile: join(dir, CA.cert),
    server: await writePair(dir, 'server', await signLeaf(dir, server, options.serverDays)),
  };
}

/** Issues `<name>.crt`/`.key` for an agent or an admin with the CA in `dir`. */
export async function issuePair(
  dir: string,
  name: string,
  profile: CertificateProfile,
  days: number,
): Promise<WrittenPair> {
  if (!(await caPresent(dir)))
    throw new PkiError(`no CA in ${dir} (ca.crt, ca.key): run pgc certs init --dir ${dir} first`);
  await assertAbsent([join(dir, `${name}.crt`), join(dir, `${name}.key`)]);
  return writePair(dir, name, await signLeaf(dir, profile, days));
}
