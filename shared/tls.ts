/**
 * TLS material and the loopback rule. Without TLS material gRPC is plaintext and allowed on
 * loopback addresses only; a non-loopback address without TLS refuses to start unless the
 * operator says --insecure (DESIGN.md, CLI conventions).
 */
import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { type ChannelCredentials, credentials, ServerCredentials } from '@grpc/grpc-js';
import { ConfigError } from './errors.js';

export interface TlsFiles {
  /** CA bundle that peers' certificates must chain to. */
  caFile?: string;
  /** This process's certificate chain (PEM). */
  certFile?: string;
  /** This process's private key (PEM); must not be readable by group or others. */
  keyFile?: string;
}

export interface TlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

function readPem(
  file: string,
  label: string,
  what: string,
  problems: string[],
): Buffer | undefined {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (err) {
    problems.push(`${what} ${file} cannot be read: ${(err as Error).message}`);
    return undefined;
  }
  if (!new RegExp(`-----BEGIN [A-Z ]*${label}-----`).test(data.toString('latin1'))) {
    problems.push(`${what} ${file} holds no PEM ${label.toLowerCase()}`);
    return undefined;
  }
  return data;
}

/** A private key: PEM, and readable by its owner only. */
function readKeyFile(file: string, problems: string[]): Buffer | undefined {
  const key = readPem(file, 'PRIVATE KEY', 'key file', problems);
  if (key === undefined) return undefined;
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    problems.push(
      `key file ${file} is readable by group or others (mode ${mode.toString(8).padStart(4, '0')}); run: chmod 600 ${file}`,
    );
    return undefined;
  }
  return key;
}

/**
 * Loads CA, certificate and key, or returns undefined when no file is configured. A partial set,
 * an unreadable file, a file that is not PEM, or a key readable by others is a ConfigError
 * listing every problem.
 */
export function loadTlsMaterial(files: TlsFiles): TlsMaterial | undefined {
  const given = [files.caFile, files.certFile, files.keyFile].filter(
    (f) => f !== undefined && f !== '',
  );
  if (given.length === 0) return undefined;
  const problems: string[] = [];
  if (!files.caFile) problems.push('tls.caFile is required when TLS is configured');
  if (!files.certFile) problems.push('tls.certFile is required when TLS is configured');
  if (!files.keyFile) problems.push('tls.keyFile is required when TLS is configured');
  const ca = files.caFile ? readPem(files.caFile, 'CERTIFICATE', 'CA file', problems) : undefined;
  const cert = files.certFile
    ? readPem(files.certFile, 'CERTIFICATE', 'certificate file', problems)
    : undefined;
  const key = files.keyFile ? readKeyFile(files.keyFile, problems) : undefined;
  if (problems.length > 0 || !ca || !cert || !key) throw new ConfigError(problems);
  return { ca, cert, key };
}

/**
 * TLS for an HTTPS client such as the PanDA client: a CA bundle alone (the server is checked, the
 * client proves itself with a token), a client certificate and key alone (the system CAs check the
 * server), or all three. A certificate without its key, or a key without its certificate, is an
 * error; so is anything loadTlsMaterial would refuse in a file.
 */
export function loadClientTls(files: TlsFiles): HttpsClientTls | undefined {
  const { caFile, certFile, keyFile } = files;
  if (!certFile && !keyFile) return caFile ? { ca: loadCaFile(caFile) } : undefined;
  if (!certFile) throw new ConfigError(['tls.certFile is required with tls.keyFile']);
  if (!keyFile) throw new ConfigError(['tls.keyFile is required with tls.certFile']);
  if (caFile) return loadTlsMaterial(files);
  const problems: string[] = [];
  const cert = readPem(certFile, 'CERTIFICATE', 'certificate file', problems);
  const key = readKeyFile(keyFile, problems);
  if (problems.length > 0 || !cert || !key) throw new ConfigError(problems);
  return { cert, key };
}

/** What an HTTPS client may be given: any of a CA bundle and a certificate with its key. */
export interface HttpsClientTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** Loads only a CA bundle: a client that proves itself another way (an admin token) needs no key. */
export function loadCaFile(caFile: string): Buffer {
  const problems: string[] = [];
  const ca = readPem(caFile, 'CERTIFICATE', 'CA file', problems);
  if (ca === undefined) throw new ConfigError(problems);
  return ca;
}

/** Splits `host:port` or `[v6]:port`. */
export function parseHostPort(address: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(address.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65535) {
    throw new ConfigError([`address ${JSON.stringify(address)} is not host:port`]);
  }
  return { host: match[1] ?? match[2] ?? '', port };
}

/** True for localhost, 127.0.0.0/8 and ::1. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

function assertPlaintextAllowed(address: string, role: string, insecure: boolean): void {
  const { host } = parseHostPort(address);
  if (!insecure && !isLoopbackHost(host)) {
    throw new ConfigError([
      `${role} ${address} is not a loopback address and no TLS material is configured: ` +
        'configure tls.caFile/certFile/keyFile, or pass --insecure to allow plaintext on the network',
    ]);
  }
}

/**
 * Whether the TLS handshake demands a client certificate. `required`: a client without a valid
 * certificate from the CA never completes the handshake. `optional`: the server still asks, but a
 * client without one (or with one that does not verify) connects and is judged per call by the
 * server's interceptor; the control plane uses it only when admin tokens are configured, so a
 * token holder needs nothing but the CA.
 */
export type ClientCertificatePolicy = 'required' | 'optional';

/**
 * grpc-js's createSsl offers "require a client certificate" or "do not ask for one"; this asks
 * without requiring. A certificate that fails verification leaves `socket.authorized` false, and
 * grpc-js then reports no peer certificate at all (server-interceptors.js getAuthContext), so
 * such a client is exactly as anonymous as one that sent none.
 */
class OptionalClientCertificateCredentials extends ServerCredentials {
  constructor(tls: TlsMaterial) {
    super(
      { requestCert: true, rejectUnauthorized: false },
      { ca: tls.ca, cert: [tls.cert], key: [tls.key] },
    );
  }

  _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}

/** Server credentials: mutual TLS when material is given, else plaintext (loopback or --insecure). */
export function grpcServerCredentials(
  listen: string,
  tls: TlsMaterial | undefined,
  insecure = false,
  clientCertificate: ClientCertificatePolicy = 'required',
): ServerCredentials {
  if (tls === undefined) {
    assertPlaintextAllowed(listen, 'listen address', insecure);
    return ServerCredentials.createInsecure();
  }
  if (clientCertificate === 'optional') return new OptionalClientCertificateCredentials(tls);
  return ServerCredentials.createSsl(
    tls.ca,
    [{ private_key: tls.key, cert_chain: tls.cert }],
    true,
  );
}

/**
 * Channel credentials for dialling `target` (host:port). Without a certificate and key the
 * client verifies the server only (an admin with a token).
 */
export function grpcChannelCredentials(
  target: string,
  tls: { ca: Buffer; cert?: Buffer; key?: Buffer } | undefined,
  insecure = false,
): ChannelCredentials {
  if (tls === undefined) {
    assertPlaintextAllowed(target, 'server address', insecure);
    return credentials.createInsecure();
  }
  return credentials.createSsl(tls.ca, tls.key ?? null, tls.cert ?? null);
}
