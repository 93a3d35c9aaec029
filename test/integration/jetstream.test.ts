import { createHash, randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobEvent } from '../../shared/gen/pgc/v1/events.js';
import { createLogger, silentLogger } from '../../shared/logger.js';
import { connectNats } from '../../shared/nats/connect.js';
import type { LocalNatsServer } from '../../shared/nats/local-server.js';
import { ensureControlStreams, ensureEndpointResources } from '../../shared/nats/streams.js';
import { messageIds, natsNames } from '../../shared/nats/subjects.js';
import { reconnected, startNats, uniqueId } from '../harness/nats.js';
import { waitFor } from '../harness/wait.js';

const key = { pandaId: 1001, attemptNr: 1 };

function event(seq: number, endpointId: string): Uint8Array {
  return JobEvent.encode({
    endpointId,
    key,
    seq,
    atMs: Date.now(),
    body: { $case: 'accepted', accepted: {} },
  }).finish();
}

describe('JetStream on a real nats-server', () => {
  let nats: LocalNatsServer;
  let nc: NatsConnection;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connectNats({
      servers: nats.url,
      name: 'test',
      log: silentLogger(),
      reconnectTimeWaitMs: 100,
    });
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.dispose();
  });

  it('creates the streams, consumers and bucket idempotently', async () => {
    const names = natsNames(uniqueId('p'));
    const jsm = await jetstreamManager(nc);
    await ensureControlStreams(jsm, names);
    await ensureControlStreams(jsm, names);
    await ensureEndpointResources(nc, jsm, names, 'ep1');
    await ensureEndpointResources(nc, jsm, names, 'ep1');
    const streams = (await jsm.streams.names().next()).filter((n) =>
      n.startsWith(names.eventsStream.split('_')[0] as string),
    );
    expect(streams.sort()).toEqual(
      [names.commandsStream, names.eventsStream, names.logsStream].sort(),
    );
    expect((await jsm.streams.info(names.eventsStream)).config.subjects).toEqual([
      names.eventsAll(),
    ]);
    expect(
      (await jsm.consumers.info(names.commandsStream, names.commandConsumer('ep1'))).config
        .filter_subject,
    ).toBe(names.commands('ep1'));
    expect(
      (await jsm.consumers.info(names.eventsStream, names.controlEventsConsumer)).config
        .max_deliver,
    ).toBe(20);
    await expect(new Objm(nc).open(names.bucket('ep1'))).resolves.toBeDefined();
  });

  it('drops a publish whose Nats-Msg-Id it has already stored', async () => {
    const names = natsNames(uniqueId('p'));
    await ensureControlStreams(await jetstreamManager(nc), names);
    const js = jetstream(nc);
    const subject = names.jobEvents('ep1', key.pandaId);
    const acks = [];
    for (const seq of [1, 2, 1, 3, 2])
      acks.push(
        await js.publish(subject, event(seq, 'ep1'), { msgID: messageIds.event(key, seq) }),
      );
    expect(acks.map((a) => a.duplicate)).toEqual([false, false, true, false, true]);
    const info = await (await jetstreamManager(nc)).streams.info(names.eventsStream);
    expect(info.state.messages).toBe(3);
  });

  it('redelivers to the durable consumer after a nak, then not after an ack', async () => {
    const names = natsNames(uniqueId('p'));
    await ensureControlStreams(await jetstreamManager(nc), names);
    const js = jetstream(nc);
    await js.publish(names.jobEvents('ep1', key.pandaId), event(1, 'ep1'), {
      msgID: messageIds.event(key, 1),
    });
    const consumer = await js.consumers.get(names.eventsStream, names.controlEventsConsumer);

    const first = await consumer.next({ expires: 5000 });
    expect(first?.info.deliveryCount).toBe(1);
    first?.nak();
    const second = await consumer.next({ expires: 5000 });
    expect(second?.info.redelivered).toBe(true);
    expect(JobEvent.decode(second?.data ?? new Uint8Array()).seq).toBe(1);
    expect(await second?.ackAck()).toBe(true);
    const none = await consumer.next({ expires: 1000 });
    expect(none).toBeNull();
  });

  it('keeps unacknowledged messages and the consumer position across a server crash and restart', async () => {
    const names = natsNames(uniqueId('p'));
    await ensureControlStreams(await jetstreamManager(nc), names);
    const js = jetstream(nc);
    for (const seq of [1, 2, 3])
      await js.publish(names.jobEvents('ep1', key.pandaId), event(seq, 'ep1'), {
        msgID: messageIds.event(key, seq),
      });
    const consumer = await js.consumers.get(names.eventsStream, names.controlEventsConsumer);
    const m1 = await consumer.next({ expires: 5000 });
    expect(await m1?.ackAck()).toBe(true);

    const back = reconnected(nc);
    await nats.restart('SIGKILL');
    // The same connection comes back by itself (it never gives up reconnecting).
    await back;
    const after = await js.consumers.get(names.eventsStream, names.controlEventsConsumer);
    const seqs: number[] = [];
    for (let i = 0; i < 2; i++) {
      const m = await after.next({ expires: 5000 });
      if (m) {
        seqs.push(JobEvent.decode(m.data).seq);
        await m.ackAck();
      }
    }
    expect(seqs).toEqual([2, 3]);
  });

  it('logs the connection losing and regaining the server', async () => {
    const lines: string[] = [];
    const log = createLogger({
      name: 't',
      destination: new Writable({
        write: (c, _e, done) => {
          lines.push(String(c));
          done();
        },
      }),
    });
    const watched = await connectNats({
      servers: nats.url,
      name: 'watched',
      log,
      reconnectTimeWaitMs: 100,
    });
    try {
      // The shared connection must be back too before the next test uses it: a request made
      // while disconnected can be lost (see shared/nats/connect.ts).
      const back = Promise.all([reconnected(watched), reconnected(nc)]);
      await nats.restart('SIGTERM');
      await back;
      await waitFor(() => lines.some((l) => l.includes('NATS reconnected')), {
        what: 'reconnect log line',
      });
      expect(lines.some((l) => l.includes('NATS disconnected'))).toBe(true);
    } finally {
      await watched.close();
    }
  });

  it('stores a 50 MB object and streams it back byte-identical', async () => {
    const names = natsNames(uniqueId('p'));
    const jsm = await jetstreamManager(nc);
    await ensureControlStreams(jsm, names);
    await ensureEndpointResources(nc, jsm, names, 'ep1');
    const store = await new Objm(nc).open(names.bucket('ep1'));
    const data = randomBytes(50 * 1024 * 1024);
    const sha = createHash('sha256').update(data).digest('hex');
    const chunkBytes = 1024 * 1024;
    let at = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= data.length) return controller.close();
        controller.enqueue(data.subarray(at, at + chunkBytes));
        at += chunkBytes;
      },
    });
    const info = await store.put({ name: 'job-1/user.x.log.tgz' }, source);
    expect(info.size).toBe(data.length);

    const result = await store.get('job-1/user.x.log.tgz');
    expect(result).not.toBeNull();
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of result?.data ?? []) {
      hash.update(chunk);
      size += chunk.length;
    }
    expect(size).toBe(data.length);
    expect(hash.digest('hex')).toBe(sha);
  });
});
