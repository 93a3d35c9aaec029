import { describe, expect, it } from 'vitest';
import {
  AdminTokens,
  bearerToken,
  hashAdminToken,
  newAdminToken,
} from '../../../shared/admin-token.js';

describe('admin tokens', () => {
  it('are 32 random bytes behind a recognisable prefix, new every time', () => {
    const a = newAdminToken();
    expect(a).toMatch(/^pgc_[A-Za-z0-9_-]{43}$/);
    expect(newAdminToken()).not.toBe(a);
    expect(hashAdminToken(a)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('match only the configured hash, and name its holder and role', () => {
    const alice = newAdminToken();
    const bob = newAdminToken();
    const tokens = new AdminTokens([
      { name: 'alice', role: 'operator', sha256: hashAdminToken(alice) },
      { name: 'bob', role: 'viewer', sha256: hashAdminToken(bob) },
    ]);
    expect(tokens.configured).toBe(true);
    expect(tokens.match(alice)).toMatchObject({ name: 'alice', role: 'operator' });
    expect(tokens.match(bob)).toMatchObject({ name: 'bob', role: 'viewer' });
    expect(tokens.match(`${alice}x`)).toBeUndefined();
    expect(tokens.match(hashAdminToken(alice))).toBeUndefined();
    expect(new AdminTokens([]).configured).toBe(false);
  });

  it('are read from "Bearer <token>" only', () => {
    expect(bearerToken('Bearer pgc_abc')).toEqual({ token: 'pgc_abc' });
    expect(bearerToken('bearer  pgc_abc ')).toEqual({ token: 'pgc_abc' });
    for (const bad of ['pgc_abc', 'Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a b'])
      expect(bearerToken(bad), bad).toHaveProperty('problem');
  });
});
