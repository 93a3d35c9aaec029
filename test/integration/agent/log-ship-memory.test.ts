/**
 * A payload printing 150 MB as fast as it can, shipped whole (cap above it) by a real agent
 * process: every byte arrives in order, and the agent's memory barely moves, because the log is
 * read and published one 64 KiB chunk at a time and never held whole (RELIABILITY.md test 28).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LogChunk, LogStream } from '../../../shared/gen/pgc/v1/events.js';
import { commandSpec } from '../../harness/agent.js';
import { AgentRig } from '../../harness/agent-rig.js';
import { startNats } from '../../harness/nats.js';
import { PAYLOAD_FIXTURE, payloadPattern } from '../../harness/payload.js';
import { tempDir } from '../../harness/temp.js';

const FLOOD = 150_000_000;

function memoryKb(pid: number): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1]);
    return { rss: field('VmRSS'), hwm: field('VmHWM') };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

describe('shipping a 150 MB log', () => {
  it('ships every byte in order while the agent grows by far less than the log', async () => {
    using dir = tempDir();
    await using nats = await startNats();
    await using rig = await AgentRig.start({
      dir: dir.path,
      nats,
      env: { PGC_LOG_SHIP_MAX_BYTES: String(200_000_000) },
      streams: { logsMaxBytes: 256 * 1024 ** 2 },
    });
    const pid = rig.agent.pid ?? 0;
    // Warm up (first job: sandbox, launcher, code paths), then take the baseline.
    const warm = commandSpec(`exec python3 ${PAYLOAD_FIXTURE} --stdout-bytes 100000`);
    await rig.run(warm);
    await rig.result(warm.key ?? { pandaId: 0, attemptNr: 0 });
    const before = memoryKb(pid);

    const spec = commandSpec(`exec python3 ${PAYLOAD_FIXTURE} --stdout-bytes ${FLOOD}`);
    const key = spec.key ?? { pandaId: 0, attemptNr: 0 };
    let peakRssKb = before.rss;
    const sampler = setInterval(() => {
      peakRssKb = Math.max(peakRssKb, memoryKb(pid).rss);
    }, 50);
    const startedAt = Date.now();
    await rig.run(spec);
    const hash = createHash('sha256');
    let bytes = 0;
    let next = 1;
    await rig.read(
      rig.names.logsStream,
      rig.names.jobLogs(rig.endpointId, key.pandaId),
      (data) => {
        const chunk = LogChunk.decode(data);
        if (chunk.stream === LogStream.STDOUT && chunk.seq === next) {
          expect(chunk.offset).toBe(bytes);
          hash.update(chunk.data);
          bytes += chunk.data.length;
          next++;
        }
        return { stream: chunk.stream, eof: chunk.eof };
      },
      (items) => items.filter((i) => i.value.eof).length === 2,
      170_000,
    );
    const shippedMs = Date.now() - startedAt;
    clearInterval(sampler);
    const after = memoryKb(pid);
    expect(bytes).toBe(FLOOD);
    expect(hash.digest('hex')).toBe(
      createHash('sha256').update(payloadPattern(FLOOD)).digest('hex'),
    );
    const growthMb = (peakRssKb - before.rss) / 1024;
    console.log(
      `150 MB shipped in ${shippedMs} ms; agent RSS ${Math.round(before.rss / 1024)} MB before, ` +
        `peak ${Math.round(peakRssKb / 1024)} MB (+${Math.round(growthMb)} MB), ` +
        `VmHWM ${Math.round(before.hwm / 1024)} → ${Math.round(after.hwm / 1024)} MB`,
    );
    expect(growthMb).toBeLessThan(60);
  }, 240_000);
});
