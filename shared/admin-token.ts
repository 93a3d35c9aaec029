/**
 * Admin bearer tokens: made by `pgc certs token`, sent by the admin verbs as
 * `authorization: Bearer <token>`, checked by the control plane against the SHA-256 hashes in its
 * `adminTokens` config. Only hashes are stored, so a leaked config file or backup grants nothing.
 * A plain SHA-256 suffices (no salt, no slow hash): a token is 256 random bits, so there is no
 * dictionary to precompute and nothing to brute-force, the way GitHub stores its tokens.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AdminRole } from './cert-identity.js';

/** The prefix makes a token recognisable to people and to secret scanners. */
const TOKEN_PREFIX = 'pgc_';

/** One configured token: who holds it, their role and the hash of the token. */
export interface AdminTokenEntry {
  name: string;
  role: AdminRole;
  /** Lowercase hex SHA-256 of the whole token string. */
  sha256: string;
}

/** A new random token: `pgc_` and 32 random bytes, base64url. */
export function newAdminToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function hashAdminToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Finds the configured entry of a presented token. */
export class AdminTokens {
  private readonly entries: ReadonlyArray<{ entry: AdminTokenEntry; hash: Buffer }>;

  constructor(entries: readonly AdminTokenEntry[]) {
    this.entries = entries.map((entry) => ({ entry, hash: Buffer.from(entry.sha256, 'hex') }));
  }

  get configured(): boolean {
    return this.entries.length > 0;
  }

  /** The entry whose hash matches `token`; every entry is compared, in constant time each. */
  match(token: string): AdminTokenEntry | undefined {
    const presented = createHash('sha256').update(token, 'utf8').digest();
    let found: AdminTokenEntry | undefined;
    for (const { entry, hash } of this.entries)
      if (timingSafeEqual(presented, hash) && found === undefined) found = entry;
    return found;
  }
}

/** The token of an `authorization` metadata value, or why it holds none. */
export function bearerToken(value: string): { token: string } | { problem: string } {
  const match = /^Bearer +(\S+)\s*$/i.exec(value);
  if (!match) return { problem: "the authorization metadata must be 'Bearer <token>'" };
  return { token: match[1] as string };
}
