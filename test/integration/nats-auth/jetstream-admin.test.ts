/**
 * RELIABILITY.md test 57 against a real nats-server running the accounts `pgc nats-config`
 * wrote: an agent's credentials try every JetStream administration verb — stream create,
 * update, delete, purge; consumer create (ephemeral, durable, with and without a filter) and
 * delete, its own included; account info; listing; bucket create and delete, its own included —
 * under its own API prefix and under the real one. Every attempt is refused, and the control
 * plane's user sees the same streams, consumers and buckets, with the same contents, afterwards.
 */
import { AckPolicy, jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalNatsServer } from '../../../shared/nats/local-server.js';
import { objectStoreStream } from '../../../shared/nats/permissions.js';
import {
  DEFAULT_STREAM_SETTINGS,
  ensureControlStreams,
  ensureEndpointResources,
} from '../../../shared/nats/streams.js';
import {
  connectAgent,
  connectControl,
  generateNatsAuth,
  jetStreamSnapshot,
  type NatsAuthFiles,
  serverLogged,
  startNatsWithAccounts,
} from '../../harness/nats-auth.js';
import { type TempDir, tempDir } from '../../harness/temp.js';

const A = 'ep-a';
const B = 'ep-b';

describe('JetStream administration with agent credentials (RELIABILITY.md test 57)', () => {
  let dir: TempDir;
  let files: NatsAuthFiles;
  let server: LocalNatsServer;
  let control: NatsConnection;

  beforeAll(async () => {
    dir = tempDir('pgc-nats-57-');
    files = await generateNatsAuth(dir.path, [A, B]);
    server = await startNatsWithAccounts(files);
    control = await connectControl(server, files);
    const jsm = await jetstreamManager(control);
    await ensureControlStreams(jsm, files.names, {
      ...DEFAULT_STREAM_SETTINGS,
      logsMaxBytes: 1 << 20,
    });
    for (const id of [A, B]) await ensureEndpointResources(control, jsm, files.names, id);
    // Something in every stream, so a purge or delete would show.
    const { names } = files;
    const js = jsm.jetstream();
    for (const id of [A, B]) {
      await js.publish(names.jobEvents(id, 1), `event of ${id}`);
      await js.publish(names.jobLogs(id, 1), `log of ${id}`);
      await js.publish(names.commands(id), `command to ${id}`);
      await (await new Objm(control).open(names.bucket(id))).putBlob(
        { name: 'kept' },
        Buffer.from(`object of ${id}`),
      );
    }
  }, 60_000);

  afterAll(async () => {
    await control?.close();
    await server?.dispose();
    dir?.[Symbol.dispose]();
  });

  it('refuses every administration verb, raw and through the client; nothing changes', async () => {
    const { names, apiPrefix } = files;
    const agent = await connectAgent(server, files, A);
    try {
      const before = await jetStreamSnapshot(control);
      const streams = [names.eventsStream, names.commandsStream, names.logsStream];
      const ownBucket = objectStoreStream(names.bucket(A));
      const otherBucket = objectStoreStream(names.bucket(B));
      const ownConsumer = names.commandConsumer(A);
      const newStream = JSON.stringify({ name: 'SNEAKY', subjects: ['sneaky.>'] });
      const newConsumer = (filter?: string) =>
        JSON.stringify({
          stream_name: names.commandsStream,
          config: {
            durable_name: 'sneaky',
            ack_policy: 'explicit',
            ...(filter ? { filter_subject: filter } : {}),
          },
        });
      const attempts: Array<[string, string]> = [];
      for (const api of [apiPrefix, '$JS.API']) {
        attempts.push(
          [`${api}.INFO`, ''],
          [`${api}.STREAM.NAMES`, ''],
          [`${api}.STREAM.LIST`, ''],
          [`${api}.STREAM.CREATE.SNEAKY`, newStream],
          [`${api}.STREAM.CREATE.${objectStoreStream(names.bucket('ep-new'))}`, newStream],
          [`${api}.CONSUMER.CREATE.${names.commandsStream}`, newConsumer()],
          [`${api}.CONSUMER.CREATE.${names.commandsStream}.sneaky`, newConsumer()],
          [
            `${api}.CONSUMER.CREATE.${names.commandsStream}.sneaky.${names.commands(B)}`,
            newConsumer(names.commands(B)),
          ],
          [`${api}.CONSUMER.DURABLE.CREATE.${names.commandsStream}.sneaky`, newConsumer()],
          [`${api}.CONSUMER.DELETE.${names.commandsStream}.${ownConsumer}`, ''],
          [`${api}.CONSUMER.DELETE.${names.commandsStream}.${names.commandConsumer(B)}`, ''],
          [`${api}.CONSUMER.NAMES.${names.commandsStream}`, ''],
          [`${api}.STREAM.DELETE.${ownBucket}`, ''],
          [`${api}.STREAM.DELETE.${otherBucket}`, ''],
          [`${api}.STREAM.UPDATE.${ownBucket}`, JSON.stringify({ name: ownBucket })],
        );
        for (const stream of streams)
          attempts.push(
            [`${api}.STREAM.UPDATE.${stream}`, JSON.stringify({ name: stream, max_msgs: 1 })],
            [`${api}.STREAM.PURGE.${stream}`, ''],
            [`${api}.STREAM.DELETE.${stream}`, ''],
            [`${api}.STREAM.MSG.DELETE.${stream}`, '{"seq":1}'],
            [`${api}.STREAM.MSG.GET.${stream}`, '{"seq":1}'],
          );
      }
      for (const [subject, body] of attempts) {
        await expect(agent.nc.request(subject, body, { timeout: 3000 }), subject).rejects.toThrow(
          /Permissions Violation/,
        );
        await serverLogged(server, 'Publish', subject);
      }

      // The same through the client library, as a confused or hostile agent would call it.
      const jsm = await jetstreamManager(agent.nc, { checkAPI: false, apiPrefix, timeout: 3000 });
      const refused = /Permissions Violation/;
      await expect(jsm.getAccountInfo()).rejects.toThrow(refused);
      await expect(jsm.streams.add({ name: 'SNEAKY', subjects: ['sneaky.>'] })).rejects.toThrow(
        refused,
      );
      for (const stream of streams) {
        await expect(jsm.streams.update(stream, { max_msgs: 1 })).rejects.toThrow(refused);
        await expect(jsm.streams.purge(stream)).rejects.toThrow(refused);
        await expect(jsm.streams.delete(stream)).rejects.toThrow(refused);
      }
      for (const filter_subject of [undefined, names.commands(B), names.commands(A)])
        await expect(
          jsm.consumers.add(names.commandsStream, {
            durable_name: 'sneaky',
            ack_policy: AckPolicy.Explicit,
            ...(filter_subject ? { filter_subject } : {}),
          }),
        ).rejects.toThrow(refused);
      await expect(jsm.consumers.delete(names.commandsStream, ownConsumer)).rejects.toThrow(
        refused,
      );
      const objm = new Objm(agent.js);
      await expect(objm.create(names.bucket('ep-new'))).rejects.toThrow(refused);
      // Its own bucket opens (the agent needs it) but cannot be destroyed or reconfigured.
      const own = await objm.open(names.bucket(A));
      await expect(own.destroy()).rejects.toThrow(refused);
      await expect(own.seal()).rejects.toThrow(refused);

      expect(await jetStreamSnapshot(control)).toEqual(before);
    } finally {
      await agent.nc.close();
    }
  }, 120_000);
});
