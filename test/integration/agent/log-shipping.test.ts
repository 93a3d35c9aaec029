/**
 * Live log shipping by a real agent process: chunks reach JetStream in order, with no gaps or
 * repeats, within a fraction of a second of the payload printing them; an agent killed in the
 * middle of a job resumes where it stopped; past the cap one marker chunk ends the stream.
 */
import { describe, expect, it } from 'vitest';
import { MAX_CHUNK_BYTES } from '../../../agent/logs/log-shipper.js';
import { type LogChunk, LogStream } from '../../../shared/gen/pgc/v1/events.js';
import { commandSpec } from '../../harness/agent.js';
import { AgentRig, type Stored } from '../../harness/agent-rig.js';
import { startNats } from '../../harness/nats.js';
import { PAYLOAD_FIXTURE, payloadPattern } from '../../harness/payload.js';
import { tempDir } from '../../harness/temp.js';

/** One stream's chunks, deduplicated by seq (a reader's rule), checked to be gapless. */
function streamOf(chunks: Array<Stored<LogChunk>>, stream: LogStream): LogChunk[] {
  const bySeq = new Map<number, LogChunk>();
  for (const { value } of chunks) {
    if (value.stream !== stream) continue;
    const seen = bySeq.get(value.seq);
    // A repeat (an agent retrying after a restart) must be the very same chunk.
    if (seen !== undefined) expect(Buffer.compare(seen.data, value.data)).toBe(0);
    else bySeq.set(value.seq, value);
  }
  const ordered = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  let offset = 0;
  ordered.forEach((c, i) => {
    expect(c.seq).toBe(i + 1);
    expect(c.offset).toBe(offset);
    expect(c.data.length).toBeLessThanOrEqual(MAX_CHUNK_BYTES);
    expect(c.eof).toBe(i === ordered.length - 1);
    if (!c.truncated) offset += c.data.length;
  });
  return ordered;
}

const text = (chunks: LogChunk[]): string =>
  Buffer.concat(chunks.map((c) => c.data)).toString('latin1');

const ticks = (n: number): string[] =>
  Array.from({ length: n }, (_, i) => `tick ${String(i + 1).padStart(6, '0')}`);

describe('live log shipping', () => {
  it('ships stdout in order, without gaps or repeats, well within a second of each line', async () => {
    using dir = tempDir();
    await using nats = await startNats();
    await using rig = await AgentRig.start({ dir: dir.path, nats });
    const spec = commandSpec(`exec python3 ${PAYLOAD_FIXTURE} --ticks 40 --tick-ms 100`);
    const key = spec.key ?? { pandaId: 0, attemptNr: 0 };
    const reading = rig.chunks(key);
    await rig.run(spec);
    const chunks = await reading;

    const stdout = streamOf(chunks, LogStream.STDOUT);
    expect(chunks.filter((c) => c.value.stream === LogStream.STDOUT)).toHaveLength(stdout.length);
    const lines = text(stdout).trimEnd().split('\n');
    expect(lines.map((l) => l.slice(0, 11))).toEqual(ticks(40));
    const stderr = streamOf(chunks, LogStream.STDERR);
    expect(stderr).toHaveLength(1);
    expect(stderr[0]?.data.length).toBe(0);

    // Follow lag: from the payload printing a line to a reader holding the chunk.
    const lags: number[] = [];
    for (const c of chunks) {
      if (c.value.stream !== LogStream.STDOUT) continue;
      for (const line of c.value.data.toString('latin1').trimEnd().split('\n')) {
        const at = /at (\d+)$/.exec(line);
        if (at) lags.push(c.receivedAtMs - Number(at[1]));
      }
    }
    lags.sort((a, b) => a - b);
    const p50 = lags[Math.floor(lags.length / 2)] ?? 0;
    const max = lags.at(-1) ?? 0;
    console.log(`follow lag over ${lags.length} lines: p50 ${p50} ms, max ${max} ms`);
    expect(max).toBeLessThan(1000);
  }, 60_000);

  it('resumes after the agent is killed mid-job: every byte once per seq, the payload untouched', async () => {
    using dir = tempDir();
    await using nats = await startNats();
    await using rig = await AgentRig.start({ dir: dir.path, nats });
    const spec = commandSpec(`exec python3 ${PAYLOAD_FIXTURE} --ticks 50 --tick-ms 100`);
    const key = spec.key ?? { pandaId: 0, attemptNr: 0 };
    await rig.run(spec);
    // Some chunks are out; then the agent dies while the payload prints on.
    await rig.read(
      rig.names.logsStream,
      rig.names.jobLogs(rig.endpointId, key.pandaId),
      () => 0,
      (items) => items.length >= 5,
      20_000,
    );
    await rig.agent.stop('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    rig.agent.start();

    const chunks = await rig.chunks(key);
    const stdout = streamOf(chunks, LogStream.STDOUT);
    const lines = text(stdout).trimEnd().split('\n');
    // Each tick once: the payload was neither restarted nor re-read from an earlier point.
    expect(lines.map((l) => l.slice(0, 11))).toEqual(ticks(50));
    const result = await rig.result(key);
    expect(result.value.failure).toBeUndefined();
  }, 90_000);

  it('ships up to the cap, then one chunk with the truncation marker that ends the stream', async () => {
    using dir = tempDir();
    await using nats = await startNats();
    const cap = 100_000;
    await using rig = await AgentRig.start({
      dir: dir.path,
      nats,
      env: { PGC_LOG_SHIP_MAX_BYTES: String(cap) },
    });
    const spec = commandSpec(
      `exec python3 ${PAYLOAD_FIXTURE} --stdout-bytes 300000 --stderr-bytes 1000`,
    );
    const key = spec.key ?? { pandaId: 0, attemptNr: 0 };
    await rig.run(spec);
    const chunks = await rig.chunks(key);
    const stdout = streamOf(chunks, LogStream.STDOUT);
    const last = stdout.at(-1);
    expect(last).toMatchObject({ truncated: true, eof: true, offset: cap });
    expect(last?.data.toString()).toBe(`\n[pgc: truncated at ${cap} bytes]\n`);
    expect(stdout.filter((c) => c.truncated)).toHaveLength(1);
    expect(Buffer.concat(stdout.slice(0, -1).map((c) => c.data))).toEqual(payloadPattern(cap));
    const stderr = streamOf(chunks, LogStream.STDERR);
    expect(Buffer.concat(stderr.map((c) => c.data))).toEqual(payloadPattern(1000));
    expect(stderr.some((c) => c.truncated)).toBe(false);
    // Nothing follows the marker, even once the job has ended and its result is out.
    await rig.result(key);
    expect(
      await rig.countStored(rig.names.logsStream, rig.names.jobLogs(rig.endpointId, key.pandaId)),
    ).toBe(chunks.length);
  }, 60_000);
});
