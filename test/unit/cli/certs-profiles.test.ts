import { describe, expect, it } from 'vitest';
import { extensionsOf, hostSan, subjectOf } from '../../../cli/certs/profiles.js';

describe('certificate profiles', () => {
  it('says what each certificate is for', () => {
    expect(extensionsOf({ kind: 'agent', endpointId: 'ep1' })).toMatch(
      /extendedKeyUsage = clientAuth\nsubjectAltName = URI:pgc:agent:ep1\n$/,
    );
    expect(extensionsOf({ kind: 'admin', name: 'alice', role: 'viewer' })).toContain(
      'subjectAltName = URI:pgc:admin:alice:viewer',
    );
    expect(extensionsOf({ kind: 'server', hosts: ['pgc.example.org', '10.1.2.3', '::1'] })).toMatch(
      /extendedKeyUsage = serverAuth\nsubjectAltName = DNS:pgc.example.org, IP:10.1.2.3, IP:::1/,
    );
    expect(extensionsOf({ kind: 'ca' })).toContain('CA:TRUE, pathlen:0');
    expect(subjectOf({ kind: 'agent', endpointId: 'ep1' })).toBe('/O=panda-gc/OU=pgc-agent/CN=ep1');
  });

  it('refuses values that could inject an extension or a subject field', () => {
    for (const host of ['a,DNS:evil.org', 'a\nbasicConstraints=CA:TRUE', 'x/CN=y', '-a.org', ''])
      expect(() => hostSan(host), host).toThrow(/neither an IP address nor a DNS name/);
    expect(() => extensionsOf({ kind: 'agent', endpointId: 'a,URI:pgc:admin:x:operator' })).toThrow(
      /not a valid id/,
    );
    expect(() => subjectOf({ kind: 'admin', name: 'x/CN=root', role: 'operator' })).toThrow(
      /not a valid id/,
    );
  });
});
