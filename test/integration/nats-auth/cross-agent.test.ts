/**
 * RELIABILITY.md test 56 against a real nats-server running the accounts `pgc nats-config`
 * wrote: with agent A's credentials, every attempt on agent B's subjects, consumer, acks, inbox
 * and bucket is a permissions violation (told to the client and logged by the server), no B
 * message reaches A, and JetStream is unchanged; A's own operations all work under its inbox
 * prefix. A reply subject aimed at B or at the JetStream API lands in A's own account.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type JetStreamClient, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectUploader } from '../../../agent/delivery/object-uploader.js';
import { digestFile } from '../../../shared/checksum.js';
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
  type Violations,
} from '../../harness/nats-auth.js';
import { type TempDir, tempDir } from '../../harness/temp.js';

const A = 'ep-a';
const B = 'ep-b';

describe('agent A with its own credentials (RELIABILITY.md test 56)', () => {
  let dir: TempDir;
  let files: NatsAuthFiles;
  let server: LocalNatsServer;
  let control: NatsConnection;
  let a: { nc: NatsConnection; js: JetStreamClient; violations: Violations };
  let b: { nc: NatsConnection; js: JetStreamClient; violations: Violations };

  beforeAll(async () => {
    dir = tempDir('pgc-nats-56-');
    files = await generateNatsAuth(dir.path, [A, B]);
    server = await startNatsWithAccounts(files);
    control = await connectControl(server, files);
    const jsm = await jetstreamManager(control);
    await ensureControlStreams(jsm, files.names, {
      ...DEFAULT_STREAM_SETTINGS,
      logsMaxBytes: 1 << 20,
    });
    for (const id of [A, B]) await ensureEndpointResources(control, jsm, files.names, id);
    a = await connectAgent(server, files, A);
    b = await connectAgent(server, files, B);
  }, 60_000);

  afterAll(async () => {
    await a?.nc.close();
    await b?.nc.close();
    await control?.close();
    await server?.dispose();
    dir?.[Symbol.dispose]();
  });

  it('does all of its own work: events, logs, its commands, its bucket', async () => {
    const { names } = files;
    const event = names.jobEvents(A, 1);
    expect((await a.js.publish(event, 'e1', { msgID: 'a-e1' })).duplicate).toBe(false);
    expect((await a.js.publish(event, 'e1', { msgID: 'a-e1' })).duplicate).toBe(true);
    await a.js.publish(names.jobLogs(A, 1), 'log line');

    await jetstream(control).publish(names.commands(A), 'kill A');
    const consumer = await a.js.consumers.get(names.commandsStream, names.commandConsumer(A));
    const batch = await consumer.fetch({ max_messages: 1, expires: 3000 });
    const got: string[] = [];
    for await (const m of batch) {
      got.push(m.string());
      await m.ackAck();
    }
    expect(got).toEqual(['kill A']);
    const info = await (await jetstreamManager(control)).consumers.info(
      names.commandsStream,
      names.commandConsumer(A),
    );
    expect(info.ack_floor.stream_seq).toBeGreaterThan(0);
    expect(info.num_ack_pending).toBe(0);

    const path = join(dir.path, 'a.out');
    writeFileSync(path, 'output of A\n'.repeat(50_000));
    const digests = await digestFile(path);
    const upload = {
      path,
      bucket: names.bucket(A),
      name: 'out/0000000000000001.0001/a.out',
      sizeBytes: digests.sizeBytes,
      sha256: digests.sha256,
    };
    const uploader = new ObjectUploader(a.js);
    expect(await uploader.upload(upload)).toBe('uploaded');
    expect(await uploader.upload(upload)).toBe('present');
    expect(a.violations.all()).toEqual([]);
  }, 60_000);

  it('is refused every subject, consumer, ack, inbox and object of agent B; nothing changes', async () => {
    const { names, apiPrefix } = files;
    const bucketB = names.bucket(B);
    const objectsB = objectStoreStream(bucketB);
    // B's own state first: an event, a log chunk, an object, and a command it pulled but has
    // not acked yet (A will try to ack it).
    await b.js.publish(names.jobEvents(B, 2), 'b event', { msgID: 'b-e1' });
    await b.js.publish(names.jobLogs(B, 2), 'b log');
    await (await new Objm(b.js).open(bucketB)).putBlob({ name: 'b-object' }, Buffer.from('B'));
    await jetstream(control).publish(names.commands(B), 'kill B');
    const consumerB = await b.js.consumers.get(names.commandsStream, names.commandConsumer(B));
    const pulledByB = await consumerB.next({ expires: 3000 });
    expect(pulledByB?.string()).toBe('kill B');
    // The subject an ack of this message goes to (JsMsg's type hides it; the object has it).
    const ackOfB = (pulledByB as unknown as { reply?: string } | null)?.reply ?? '';
    expect(ackOfB).toMatch(/^\$JS\.ACK\./);
    const before = await jetStreamSnapshot(control);

    const readByA: string[] = [];
    const subscribeTo = [names.commands(B), names.eventsOfEndpoint(B), '_INBOX.>', '_INBOX_ep-b.>'];
    for (const subject of subscribeTo) {
      // The callback also hears the refusal (as an error, with no message).
      const sub = a.nc.subscribe(subject, {
        callback: (err, m) => {
          if (err === null) readByA.push(m.subject);
        },
      });
      expect(String(await sub.closed)).toMatch(/Permissions Violation for Subscription/);
      await serverLogged(server, 'Subscription', subject);
    }

    const publishTo = [
      names.jobEvents(B, 1),
      names.jobLogs(B, 1),
      ackOfB,
      `$O.${bucketB}.C.sneaky`,
      `$O.${bucketB}.M.${Buffer.from('b-object').toString('base64url')}`,
    ];
    for (const subject of publishTo) {
      a.nc.publish(subject, 'from A');
      await a.violations.of(subject);
      await serverLogged(server, 'Publish', subject);
    }
    // JetStream-published, the refusal comes back at once as an error.
    await expect(a.js.publish(names.jobEvents(B, 1), 'from A')).rejects.toThrow(
      /Permissions Violation/,
    );

    // B's consumer and bucket through every name A could try: A's API prefix and the real one.
    const requests: Array<[string, string]> = [];
    for (const api of [apiPrefix, '$JS.API']) {
      const consumer = `${names.commandsStream}.${names.commandConsumer(B)}`;
      requests.push(
        [`${api}.CONSUMER.MSG.NEXT.${consumer}`, '{"batch":1,"expires":1000000000}'],
        [`${api}.CONSUMER.INFO.${consumer}`, ''],
        [`${api}.STREAM.INFO.${objectsB}`, ''],
        [`${api}.STREAM.MSG.GET.${objectsB}`, '{"last_by_subj":"$O.pgc-obj-ep-b.M.>"}'],
        [`${api}.STREAM.PURGE.${objectsB}`, ''],
      );
    }
    for (const [subject, body] of requests) {
      await expect(a.nc.request(subject, body, { timeout: 3000 })).rejects.toThrow(
        /Permissions Violation/,
      );
      await serverLogged(server, 'Publish', subject);
    }
    await expect(
      a.js.consumers.get(names.commandsStream, names.commandConsumer(B)),
    ).rejects.toThrow(/Permissions Violation/);
    await expect(new Objm(a.js).open(bucketB)).rejects.toThrow(/Permissions Violation/);

    expect(readByA).toEqual([]);
    expect(await jetStreamSnapshot(control)).toEqual(before);
    // B's command was neither stolen nor acked by A: B still holds it and acks it itself.
    await pulledByB?.ackAck();
    const infoB = await (await jetstreamManager(control)).consumers.info(
      names.commandsStream,
      names.commandConsumer(B),
    );
    expect(infoB.num_ack_pending).toBe(0);
    expect(infoB.delivered.consumer_seq).toBe(1);
  }, 90_000);

  it("cannot aim JetStream's replies at B or at the JetStream API", async () => {
    const { names, apiPrefix } = files;
    const jsm = await jetstreamManager(control);
    await jetstream(control).publish(names.commands(B), 'second kill B');
    const otherStreams = async () => {
      const all = (await jetStreamSnapshot(control)) as Array<{ config: { name: string } }>;
      return all.filter((s) => s.config.name !== names.eventsStream);
    };
    const eventsBefore = (await jsm.streams.info(names.eventsStream)).state.messages;
    const before = await otherStreams();
    // With permissions alone (one account), each of these deleted or purged something on
    // nats-server 2.9.10: the server checks the subject of a publish, never its reply subject.
    const replies = [
      `$JS.API.STREAM.PURGE.${names.logsStream}`,
      `$JS.API.CONSUMER.DELETE.${names.commandsStream}.${names.commandConsumer(B)}`,
      `$JS.API.STREAM.DELETE.${objectStoreStream(names.bucket(B))}`,
      `$JS.API.STREAM.DELETE.${names.commandsStream}`,
      names.commands(B),
      names.jobEvents(B, 3),
    ];
    const ownConsumer = `${names.commandsStream}.${names.commandConsumer(A)}`;
    for (const reply of replies) {
      a.nc.publish(names.jobEvents(A, 3), 'A event', { reply });
      a.nc.publish(`${apiPrefix}.CONSUMER.MSG.NEXT.${ownConsumer}`, '{"batch":1,"no_wait":true}', {
        reply,
      });
      a.nc.publish(`${apiPrefix}.CONSUMER.INFO.${ownConsumer}`, '', { reply });
    }
    // Round trips through the same paths: JetStream has handled everything sent before them.
    await a.js.publish(names.jobEvents(A, 3), 'barrier');
    await (await a.js.consumers.get(names.commandsStream, names.commandConsumer(A))).info();

    expect(await otherStreams()).toEqual(before);
    expect((await jsm.streams.info(names.eventsStream)).state.messages).toBe(
      eventsBefore + replies.length + 1,
    );
  }, 60_000);
});
