import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { EventOutbox } from '../../../agent/event-outbox.js';
import type { JobKey } from '../../../shared/gen/pgc/v1/common.js';
import { JobEvent } from '../../../shared/gen/pgc/v1/events.js';
import { silentLogger } from '../../../shared/logger.js';
import { connectNats } from '../../../shared/nats/connect.js';
import { ensureControlStreams } from '../../../shared/nats/streams.js';
import { natsNames } from '../../../shared/nats/subjects.js';
import { startNats, uniqueId } from '../../harness/nats.js';
import { tempDir } from '../../harness/temp.js';
import { waitFor } from '../../harness/wait.js';

function events(pandaId: number): JobEvent[] {
  const key = { pandaId, attemptNr: 1 };
  const base = { endpointId: 'ep1', key, atMs: 1 };
  return [
    { ...base, seq: 1, body: { $case: 'accepted', accepted: {} } },
    { ...base, seq: 3, body: { $case: 'running', running: { pid: 42 } } },
    {
      ...base,
      seq: 5,
      body: {
        $case: 'result',
        result: {
          key,
          signal: '',
          killReason: 0,
          outputs: [],
          returnValueJson: '',
          startedAtMs: 0,
          endedAtMs: 0,
          errorDiag: '',
        },
      },
    },
  ];
}

describe('the agent event outbox', () => {
  it('keeps events across a NATS outage and an agent restart, and publishes each once, in order', async () => {
    using dir = tempDir();
    await using nats = await startNats();
    const log = silentLogger();
    const names = natsNames(uniqueId('o'));
    const nc = await connectNats({ servers: nats.url, name: 't', log, reconnectTimeWaitMs: 100 });
    await ensureControlStreams(await jetstreamManager(nc), names);
    const published: JobKey[] = [];
    const options = {
      log,
      names,
      publishTimeoutMs: 1000,
      onResultPublished: async (key: JobKey) => void published.push(key),
    };

    await nats.stop();
    const first = await EventOutbox.open(join(dir.path, 'outbox'), options);
    first.start(jetstream(nc));
    for (const e of [...events(101), ...events(102)]) await first.append(e);
    expect(first.size).toBe(6);
    // The agent "crashes" while NATS is down: everything is still in its outbox.
    await first.close();

    await nats.restart();
    const second = await EventOutbox.open(join(dir.path, 'outbox'), options);
    expect(second.size).toBe(6);
    second.start(jetstream(nc));
    await waitFor(() => second.size === 0, { what: 'the outbox to drain', timeoutMs: 20_000 });
    // An event appended again (a restarted agent re-announcing) is deduplicated by JetStream.
    const again = events(101)[1];
    if (again) await second.append(again);
    await waitFor(() => second.size === 0, { what: 'the duplicate to be acked' });
    await second.close();

    const info = await (await jetstreamManager(nc)).streams.info(names.eventsStream);
    expect(info.state.messages).toBe(6);
    const consumer = await jetstream(nc).consumers.get(
      names.eventsStream,
      names.controlEventsConsumer,
    );
    const order: string[] = [];
    for (let i = 0; i < 6; i++) {
      const m = await consumer.next({ expires: 2000 });
      if (!m) break;
      const e = JobEvent.decode(m.data);
      order.push(`${e.key?.pandaId}:${e.body?.$case}`);
      m.ack();
    }
    expect(order.filter((o) => o.startsWith('101'))).toEqual([
      '101:accepted',
      '101:running',
      '101:result',
    ]);
    expect(order.filter((o) => o.startsWith('102'))).toEqual([
      '102:accepted',
      '102:running',
      '102:result',
    ]);
    expect(published.map((k) => k.pandaId).sort()).toEqual([101, 102]);
    await nc.close();
  });
});
