/**
 * 6. Logs: a payload printing 200 MB as fast as it can (64 KiB writes, each starting with a line
 * `@<epoch ms>` stamped just before the write), run as a command job through the whole system
 * with live log shipping to JetStream, the real path, and followed from the moment the job is
 * known as `pgc logs -f` follows it (the Admin API's StreamLogs with follow). Measured:
 *   - the payload's wall time under the agent (the supervisor's start to exit, as the agent
 *     reports it) against the same payload run directly as `payload > file` (target ≤ 1.1×);
 *   - follow lag: receive time − stamp, for every stamp the follower reads (target p99 ≤ 1 s);
 *   - for information: from the payload's start until the follower has the last byte.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LogStream } from '../../shared/gen/pgc/v1/events.js';
import { waitFor } from '../../test/harness/wait.js';
import { FINAL_STATES, startAgentBench, waitForStates } from '../lib/agent-system.js';
import type { BenchContext, Scenario, ScenarioResult } from '../lib/report.js';
import { median, percentile } from '../lib/stats.js';

const TOTAL_BYTES = 200_000_000;
const AT = 0x40; // '@'

const PAYLOAD = `import os, sys, time
total = int(sys.argv[1])
filler = (b"x" * 99 + b"\\n") * 655
written = 0
while written < total:
    data = memoryview(b"@%d\\n" % int(time.time() * 1000) + filler)[: total - written]
    written += len(data)
    while len(data):
        data = data[os.write(1, data):]
`;

interface Followed {
  lagsMs: number[];
  bytes: number;
  lastAtMs: number;
}

/** Parses stamps out of the followed stdout; a stamp may be split across chunks. */
function stampReader(): { feed: (data: Buffer, nowMs: number) => void; result: Followed } {
  const result: Followed = { lagsMs: [], bytes: 0, lastAtMs: 0 };
  let tail = Buffer.alloc(0);
  return {
    result,
    feed: (chunk, nowMs) => {
      result.bytes += chunk.length;
      result.lastAtMs = nowMs;
      const data = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk;
      tail = Buffer.alloc(0);
      for (let at = data.indexOf(AT); at >= 0; at = data.indexOf(AT, at + 1)) {
        const end = data.indexOf(0x0a, at);
        if (end < 0) {
          tail = Buffer.from(data.subarray(at));
          break;
        }
        result.lagsMs.push(nowMs - Number(data.toString('latin1', at + 1, end)));
      }
    },
  };
}

function runDirect(script: string, bytes: number, out: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('/bin/sh', ['-c', `python3 ${script} ${bytes} > ${out}`], {
      stdio: 'ignore',
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(performance.now() - t0) : reject(new Error(`direct run: exit ${code}`)),
    );
  });
}

export const logs: Scenario = {
  id: 'logs',
  title: '6. Logs: a payload printing 200 MB, shipped live and followed',
  run: async (ctx: BenchContext): Promise<ScenarioResult> => {
    const bytes = Math.round(TOTAL_BYTES * ctx.scale);
    const mb = `${Math.round(bytes / 1e6)} MB`;
    const script = join(ctx.dir, 'print.py');
    writeFileSync(script, PAYLOAD);
    await using bench = await startAgentBench(join(ctx.dir, 'system'), {
      slots: 2,
      agentEnv: {
        // The default (64 MiB) ends live shipping there; the whole log is shipped here.
        PGC_LOG_SHIP_MAX_BYTES: String(256 * 1024 ** 2),
        PGC_KEEP_JOB_DIR_HOURS: '0',
      },
    });
    const agentMs: number[] = [];
    const directMs: number[] = [];
    const lagP99: number[] = [];
    const lagP50: number[] = [];
    const lastByteMs: number[] = [];
    for (let run = 0; run < ctx.runs; run++) {
      const direct = async (): Promise<void> => {
        directMs.push(await runDirect(script, bytes, join(ctx.dir, 'direct.out')));
      };
      if (run % 2 === 1) await direct();
      const [id] = await bench.define([`exec python3 ${script} ${bytes}`]);
      if (id === undefined) throw new Error('no job defined');
      // A PanDA id the control plane has not acquired yet is unknown to it: wait until it is.
      await waitFor(() => bench.admin.getJob(id).then(() => true), {
        what: 'the job known to the control plane',
        timeoutMs: 60_000,
        intervalMs: 50,
      });
      const reader = stampReader();
      for await (const chunk of bench.admin.streamLogs({
        pandaId: id,
        stream: LogStream.STDOUT,
        follow: true,
        tailLines: 0,
      }))
        reader.feed(chunk.data, Date.now());
      await waitForStates(bench.admin, [id], FINAL_STATES, 120_000);
      const result = (await bench.admin.getJob(id)).result;
      if (result === undefined || result.exitCode !== 0)
        throw new Error(`job ${id} did not succeed: ${JSON.stringify(result?.failure)}`);
      if (reader.result.bytes !== bytes)
        throw new Error(`the follower got ${reader.result.bytes} bytes of ${bytes}`);
      const wall = result.endedAtMs - result.startedAtMs;
      agentMs.push(wall);
      lagP50.push(percentile(reader.result.lagsMs, 50));
      lagP99.push(percentile(reader.result.lagsMs, 99));
      lastByteMs.push(reader.result.lastAtMs - result.startedAtMs);
      if (run % 2 === 0) await direct();
      ctx.log(
        `run ${run + 1}: payload ${wall} ms under the agent, ${directMs.at(-1)?.toFixed(0)} ms as payload > file; follow lag p50 ${lagP50.at(-1)} ms, p99 ${lagP99.at(-1)} ms over ${reader.result.lagsMs.length} stamps; last byte followed ${lastByteMs.at(-1)} ms after the start`,
      );
    }
    const wall = median(agentMs);
    const base = median(directMs);
    const lag = median(lagP99);
    return {
      figures: [
        {
          name: `payload wall time printing ${mb}, live shipping`,
          unit: 'ms',
          value: wall,
          samples: agentMs,
          baseline: { name: 'payload > file', value: base, samples: directMs },
          ratio: wall / base,
          target: { text: '≤ 1.1 × payload > file', met: wall / base <= 1.1 },
        },
        {
          name: 'follow lag p99 (pgc logs -f path)',
          unit: 'ms',
          value: lag,
          samples: lagP99,
          target: { text: '≤ 1,000 ms', met: lag <= 1000 },
        },
        {
          name: 'follow lag p50',
          unit: 'ms',
          value: median(lagP50),
          samples: lagP50,
        },
        {
          name: `payload start until the follower has all ${mb}`,
          unit: 'ms',
          value: median(lastByteMs),
          samples: lastByteMs,
        },
      ],
      notes: [
        `The payload (python3, os.write of 64 KiB blocks, one stamp line each) writes as fast as the disk takes it; its stdout is a file under the agent too (the supervisor redirects it), so the wall-time ratio shows what capture and live shipping cost the payload. The agent ran with logShipMaxBytes = 256 MiB (PGC_LOG_SHIP_MAX_BYTES; the default 64 MiB would end live shipping at 64 MiB), everything else default. Wall time under the agent is the agent's own record (supervisor start to exit, result.startedAtMs/endedAtMs), which includes the perl supervisor's start; the baseline is /bin/sh -c 'python3 … > file' from spawn to exit.`,
        ...(wall / base > 1.1 || lag > 1000
          ? [
              'Where the time goes (agent and control plane --cpu-prof through PGC_NODE_ARGS, one 200 MB run, ~12 s until the follower had it all): the control plane is idle most of the time, so StreamLogs is not the bound; the agent is busy only ~6 of those ~17 s (2 s of it garbage collection of per-chunk buffers, 0.8 s socket writes, 0.3 s LevelDB puts). Shipping is latency-bound, not CPU-bound: agent/logs/stream-shipper.ts handles one 64 KiB chunk at a time, strictly in sequence: a durable (fsynced) LevelDB put of the plan, open/read/close of the log file, a JetStream publish awaiting its ack, another put. About 3 ms per 64 KiB caps live shipping near 20 MB/s, so a payload printing faster than that falls behind by (bytes ÷ 20 MB/s − its own run time): the lag grows through the run and its p99 is near the end. The fix: plan a window of chunks (say 1–4 MiB) with one durable batch, keep several publishes in flight and await their acks together (JetStream deduplicates by message id, so a retry after a restart stays exact), keep the file open while a job runs, and reuse read buffers. That was built and measured (2 MiB windows, 32 publishes in flight: lag p99 1.7–2.4 s, the whole 200 MB followed in ~2 s instead of ~7 s) and then reverted: with logs arriving that fast, a StreamLogs follower sometimes never ended (the control-plane follow loop stopped after the job was final without ending the call; seen in 4 of 13 runs, not found yet), and once `pgc logs -f` ended early with part of the log in the e2e test. Finding that race in control/admin/stream-logs.ts comes first, then the windowed shipper can return.',
              "The payload's wall time under the agent (≈0.45 s against ≈0.2 s) is a short run, so fixed costs weigh: the perl supervisor's start is in the agent's figure and not the baseline, and, likely (not isolated), the shipper's fsync per chunk on the same ext4 file system (data=ordered) makes the kernel write out the payload's dirty pages early, where `payload > file` leaves them to writeback. Fewer fsyncs (the batching above) would address both the lag and this.",
            ]
          : []),
        'Follow lag is measured as `pgc logs -f` sees it: agent tails the file, publishes 64 KiB chunks to JetStream, the control plane reads the job subject and streams it over gRPC to the follower (this process, on the same machine and clock).',
      ],
    };
  },
};
