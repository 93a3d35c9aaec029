import { describe, expect, it } from 'vitest';
import { checkCredentialPlacement } from '../../../agent/credential-files.js';

describe('credential placement', () => {
  it('refuses credentials inside the state directory, naming each setting', () => {
    expect(() =>
      checkCredentialPlacement(
        {
          'tls.keyFile': '/srv/pgc/state/jobs/x/key.pem',
          'nats.passwordFile': '/srv/pgc/state/../state/sandbox/p',
          'tls.certFile': '/etc/pgc/agent.crt',
        },
        '/srv/pgc/state',
      ),
    ).toThrow(/tls\.keyFile: .* is inside the state directory[\s\S]*nats\.passwordFile/);
  });

  it('accepts credentials beside it, and unset ones', () => {
    expect(() =>
      checkCredentialPlacement(
        { 'tls.keyFile': '/srv/pgc/state-keys/key.pem', 'nats.passwordFile': undefined },
        '/srv/pgc/state',
      ),
    ).not.toThrow();
  });
});
