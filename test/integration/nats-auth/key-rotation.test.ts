/**
 * RELIABILITY.md test 59, NATS part: an agent's key is rotated on a live system (its seed file
 * deleted, `pgc nats-config` run again, nats-server reloaded). The server drops the agent's
 * connection at once, the old key can no longer connect, and the same agent connection comes
 * back by itself with the new seed (read again at every reconnect), without a restart; the
 * control plane's key, kept by the rerun, is not disturbed.
 */
import { readFileSync, rmSync } from 'node:fs';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, nkeyAuthenticator } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_STREAM_SETTINGS,
  ensureControlStreams,
  ensureEndpointResources,
} from '../../../shared/nats/streams.js';
import { reconnected } from '../../harness/nats.js';
import {
  connectAgent,
  connectControl,
  generateNatsAuth,
  startNatsWithAccounts,
} from '../../harness/nats-auth.js';
import { tempDir } from '../../harness/temp.js';

const ENDPOINT = 'ep-a';

describe('NATS key rotation (RELIABILITY.md test 59)', () => {
  it('revokes the old key at the reload; the running agent reconnects with the new seed', async () => {
    using dir = tempDir('pgc-nats-59-');
    const files = await generateNatsAuth(dir.path, [ENDPOINT]);
    const { names } = files;
    await using server = await startNatsWithAccounts(files);
    const control = await connectControl(server, files);
    const agent = await connectAgent(server, files, ENDPOINT);
    try {
      const jsm = await jetstreamManager(control);
      await ensureControlStreams(jsm, names, {
        ...DEFAULT_STREAM_SETTINGS,
        logsMaxBytes: 1 << 20,
      });
      await ensureEndpointResources(control, jsm, names, ENDPOINT);
      await agent.js.publish(names.jobEvents(ENDPOINT, 1), 'before');

      const oldSeed = readFileSync(files.agentSeedFile(ENDPOINT), 'utf8').trim();
      const controlSeed = readFileSync(files.controlSeedFile, 'utf8');
      rmSync(files.agentSeedFile(ENDPOINT));
      await generateNatsAuth(dir.path, [ENDPOINT]);
      expect(readFileSync(files.agentSeedFile(ENDPOINT), 'utf8').trim()).not.toBe(oldSeed);
      expect(readFileSync(files.controlSeedFile, 'utf8')).toBe(controlSeed);

      const back = reconnected(agent.nc, 30_000);
      await server.reload(readFileSync(files.accountsFile, 'utf8'));
      await back;
      expect((await agent.js.publish(names.jobEvents(ENDPOINT, 1), 'after')).seq).toBe(2);

      const withOldKey = await connect({
        servers: server.url,
        authenticator: nkeyAuthenticator(new TextEncoder().encode(oldSeed)),
        maxReconnectAttempts: 0,
        reconnect: false,
      }).then(
        async (nc) => {
          await nc.close();
          return 'connected';
        },
        (err: unknown) => String(err),
      );
      expect(withOldKey).toMatch(/Authorization Violation/i);
      expect((await jetstream(control).publish(names.commands(ENDPOINT), 'kill')).seq).toBe(1);
    } finally {
      await agent.nc.close();
      await control.close();
    }
  }, 60_000);
});
