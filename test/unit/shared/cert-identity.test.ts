import type { PeerCertificate } from 'node:tls';
import { describe, expect, it } from 'vitest';
import {
  adminIdentityUri,
  agentIdentityUri,
  CLIENT_AUTH_OID,
  parseIdentityUri,
  pgcUris,
  readCertificateIdentity,
} from '../../../shared/cert-identity.js';

/** The fields of a verified peer certificate that the identity is read from. */
function cert(subjectaltname: string | undefined, eku: string[] | null = [CLIENT_AUTH_OID]) {
  return { subjectaltname, ext_key_usage: eku ?? undefined } as unknown as PeerCertificate;
}

describe('certificate identities', () => {
  it('round-trips agent and admin URIs', () => {
    expect(parseIdentityUri(agentIdentityUri('bnl-gc-01'))).toEqual({
      kind: 'agent',
      endpointId: 'bnl-gc-01',
    });
    expect(parseIdentityUri(adminIdentityUri('alice', 'operator'))).toEqual({
      kind: 'admin',
      name: 'alice',
      role: 'operator',
    });
  });

  it('refuses malformed URIs: bad ids, unknown kinds and roles, extra parts', () => {
    for (const uri of [
      'pgc:agent:a.b',
      'pgc:agent:',
      'pgc:agent:a:b',
      'pgc:admin:alice',
      'pgc:admin:alice:root',
      'pgc:admin:alice:operator:x',
      'pgc:server:x',
      'spiffe:agent:x',
    ])
      expect(parseIdentityUri(uri), uri).toBeUndefined();
  });

  it('reads the one pgc URI among other SANs', () => {
    expect(
      readCertificateIdentity(cert('DNS:host.example.org, URI:pgc:agent:ep1, IP Address:10.0.0.1')),
    ).toEqual({ identity: { kind: 'agent', endpointId: 'ep1' } });
  });

  it('finds no identity in a CN-only certificate, and refuses two identities', () => {
    expect(readCertificateIdentity(cert(undefined))).toMatchObject({
      problem: expect.stringMatching(/names no pgc identity/),
    });
    expect(
      readCertificateIdentity(cert('URI:pgc:agent:a, URI:pgc:admin:b:operator')),
    ).toMatchObject({ problem: expect.stringMatching(/names 2 pgc identities/) });
  });

  it('does not let a quoted SAN value smuggle an identity through the comma split', () => {
    // Node quotes a SAN value that holds ", " as a JSON string.
    const san = 'URI:"http://x/, URI:pgc:admin:evil:operator"';
    expect(pgcUris(san)).toEqual(['pgc:admin:evil:operator"']);
    expect(readCertificateIdentity(cert(san))).toMatchObject({
      problem: expect.stringMatching(/is not pgc:agent/),
    });
  });

  it('requires the clientAuth extended key usage, even where TLS accepts none', () => {
    expect(readCertificateIdentity(cert('URI:pgc:agent:ep1', null))).toMatchObject({
      problem: expect.stringMatching(/no clientAuth EKU/),
    });
    expect(readCertificateIdentity(cert('URI:pgc:agent:ep1', ['1.3.6.1.5.5.7.3.1']))).toMatchObject(
      { problem: expect.stringMatching(/no clientAuth EKU/) },
    );
  });
});
