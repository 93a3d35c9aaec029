/**
 * How a process proves who it is to nats-server. The preferred way is an nkey seed file written
 * by `pgc nats-config`: the server holds only the public key and checks a signature of a
 * per-connection nonce, so no secret is in the server's configuration, on a command line, in an
 * environment variable or on the wire (RELIABILITY.md §2.4). The seed file must be readable by
 * its owner only and is refused otherwise, as shared/tls.ts refuses a readable private key.
 *
 * The seed is read again on every (re)connect, so a rotated file is picked up by the next
 * connection without a restart; a file that went bad meanwhile is logged and the last good seed
 * is used (the server decides whether it is still valid).
 */
import { readFileSync, statSync } from 'node:fs';
import { type Authenticator, nkeyAuthenticator, nkeys } from '@nats-io/transport-node';
import { ConfigError } from '../errors.js';
import type { Logger } from '../logger.js';

export interface NatsCredentialSettings {
  user?: string | undefined;
  password?: string | undefined;
  nkeySeedFile?: string | undefined;
}

export type NatsAuth =
  | { kind: 'none' }
  | { kind: 'password'; user: string; pass: string }
  | { kind: 'nkey'; authenticator: Authenticator; publicKey: string };

/** Where a seed file is refused: missing, readable by others, or not a user seed. */
function seedProblem(file: string): { problem: string } | { seed: Uint8Array; publicKey: string } {
  let mode: number;
  let text: string;
  try {
    mode = statSync(file).mode & 0o777;
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { problem: `nkey seed file ${file} cannot be read: ${(err as Error).message}` };
  }
  if ((mode & 0o077) !== 0)
    return {
      problem: `nkey seed file ${file} is readable by group or others (mode ${mode.toString(8).padStart(4, '0')}); run: chmod 600 ${file}`,
    };
  const seed = new TextEncoder().encode(text.trim());
  try {
    const pair = nkeys.fromSeed(seed);
    const publicKey = pair.getPublicKey();
    if (!publicKey.startsWith('U'))
      return { problem: `nkey seed file ${file} holds no user seed (its key is ${publicKey[0]}…)` };
    return { seed, publicKey };
  } catch {
    // Never echo the file's content: it may be a secret in the wrong format.
    return { problem: `nkey seed file ${file} holds no nkey seed` };
  }
}

/** Reads and checks a seed file now (so a bad one stops start-up) and returns its public key. */
export function checkSeedFile(file: string): string {
  const read = seedProblem(file);
  if ('problem' in read) throw new ConfigError([read.problem]);
  return read.publicKey;
}

/**
 * The connection's credentials from the `nats` settings. A ConfigError lists every problem:
 * both an nkey and a password, a password without a user, a bad seed file.
 */
export function natsAuth(settings: NatsCredentialSettings, log: Logger): NatsAuth {
  const { user, password, nkeySeedFile } = settings;
  const problems: string[] = [];
  if (nkeySeedFile && (user || password))
    problems.push('set either nats.nkeySeedFile or nats.user/password, not both');
  if (password && !user) problems.push('nats.password is set without nats.user');
  let initial: { seed: Uint8Array; publicKey: string } | undefined;
  if (nkeySeedFile) {
    const read = seedProblem(nkeySeedFile);
    if ('problem' in read) problems.push(read.problem);
    else initial = read;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  if (nkeySeedFile && initial) {
    let last = initial.seed;
    const current = (): Uint8Array => {
      const read = seedProblem(nkeySeedFile);
      if ('seed' in read) last = read.seed;
      else
        log.error(
          { problem: read.problem },
          'NATS nkey seed file unusable; using the last good one',
        );
      return last;
    };
    return {
      kind: 'nkey',
      authenticator: nkeyAuthenticator(current),
      publicKey: initial.publicKey,
    };
  }
  if (user) return { kind: 'password', user, pass: password ?? '' };
  return { kind: 'none' };
}

/** For logs: who we connect as, never the secret. */
export function describeAuth(auth: NatsAuth): Record<string, string> {
  switch (auth.kind) {
    case 'none':
      return { auth: 'none' };
    case 'password':
      return { auth: 'password', user: auth.user };
    case 'nkey':
      return { auth: 'nkey', nkey: auth.publicKey };
  }
}
