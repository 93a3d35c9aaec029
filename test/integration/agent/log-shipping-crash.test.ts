/**
 * An agent SIGKILLed while it ships a long log (each chunk recorded before it is published)
 * leaves, after its restart, the whole log in JetStream: republished chunks carry the same message
 * ids and are dropped by JetStream's duplicate window, so there is no gap, no seq twice, and every
 * byte as the payload wrote it.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_CHUNK_BYTES } from '../../../agent/logs/log-shipper.js';
import { LogChunk, LogStream } from '../../../shared/gen/pgc/v1/events.js';
import { commandSpec } from '../../harness/agent.js';
import { AgentRig } from '../../harness/agent-rig.js';
import { startNats } from '../../harness/nats.js';
import { PAYLOAD_FIXTURE, payloadPattern } from '../../harness/payload.js';
import { tempDir } from '../../harness/temp.js';

const LOG_BYTES = 60_000_000;

/** What a reader needs of a chunk, without holding 60 MB of them. */
interface Seen {
  stream: LogStream;
  seq: number;
  offset: number;
  eof: boolean;
  data: Buffer;
}

describe('an agent killed in the middle of shipping a long log', () => {
  it('ships the complete log after its restart: no gap, no seq twice, the same bytes', async () => {
    using dir = tempDir();
    await using nats = await startNats();
    await using rig = await AgentRig.start({
      dir: dir.path,
      nats,
      env: { PGC_LOG_SHIP_MAX_BYTES: String(200_000_000) },
      streams: { logsMaxBytes: 256 * 1024 ** 2 },
    });
    // The payload outlives the agent's death: it prints everything at once, then runs on.
    const spec = commandSpec(
      `exec python3 ${PAYLOAD_FIXTURE} --stdout-bytes ${LOG_BYTES} --run-ms 3000`,
    );
    const key = spec.key ?? { pandaId: 0, attemptNr: 0 };
    const subject = rig.names.jobLogs(rig.endpointId, key.pandaId);
    await rig.run(spec);
    // Killed once a hundred chunks are out, long before the log's last one.
    await rig.read(
      rig.names.logsStream,
      subject,
      () => 0,
      (items) => items.length >= 100,
      30_000,
    );
    await rig.agent.stop('SIGKILL');
    const storedAtKill = await rig.countStored(rig.names.logsStream, subject);
    expect(storedAtKill).toBeLessThan(LOG_BYTES / MAX_CHUNK_BYTES);
    rig.agent.start();

    const seen = await rig.read(
      rig.names.logsStream,
      subject,
      (data): Seen => {
        const c = LogChunk.decode(data);
        return { stream: c.stream, seq: c.seq, offset: c.offset, eof: c.eof, data: c.data };
      },
      (items) => items.filter((i) => i.value.eof).length === 2,
      90_000,
    );
    const stdout = seen.map((s) => s.value).filter((c) => c.stream === LogStream.STDOUT);
    // Not a seq twice: the restarted agent republished what it had recorded but not seen
    // acknowledged under the same message ids, and JetStream dropped what it held already.
    expect(new Set(stdout.map((c) => c.seq)).size).toBe(stdout.length);
    stdout.sort((a, b) => a.seq - b.seq);
    const hash = createHash('sha256');
    let offset = 0;
    stdout.forEach((c, i) => {
      expect(c.seq).toBe(i + 1);
      expect(c.offset).toBe(offset);
      expect(c.data.length).toBeLessThanOrEqual(MAX_CHUNK_BYTES);
      expect(c.eof).toBe(i === stdout.length - 1);
      hash.update(c.data);
      offset += c.data.length;
    });
    expect(offset).toBe(LOG_BYTES);
    expect(hash.digest('hex')).toBe(
      createHash('sha256').update(payloadPattern(LOG_BYTES)).digest('hex'),
    );
    const result = await rig.result(key);
    expect(result.value.failure).toBeUndefined();
  }, 180_000);
});
