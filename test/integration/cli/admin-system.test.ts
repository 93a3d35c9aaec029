/**
 * The admin verbs against the whole system with real agents (`pgc agent run`): what an agent
 * really ships (log chunks, the tarball, outputs in the object store) is what `pgc logs`,
 * `pgc outputs` and `pgc logs --archive` give back, `-f` follows a job from before it starts to
 * its end, and an operator kill of a running payload reaches PanDA as 1205.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { E2E_QUEUES, startE2E } from '../../harness/e2e.js';
import { runPgc } from '../../harness/pgc.js';
import { getJob } from '../../harness/sim.js';
import { tempDir } from '../../harness/temp.js';
import { waitFor } from '../../harness/wait.js';
import { defineCommandJobs } from '../../harness/workload.js';
import { json, startPgc } from '../control/admin-helpers.js';

const seqLines = (prefix: string, n: number): string =>
  Array.from({ length: n }, (_, i) => `${prefix}-${i + 1}\n`).join('');

describe('admin verbs with real agents', () => {
  it('logs, follow, outputs, the archive and an operator kill', async () => {
    using dir = tempDir('pgc-admin-sys-');
    await using system = await startE2E(dir.path);
    const pgc = (args: string[]) =>
      runPgc([...args, '--server', system.controlAddress], { timeoutMs: 60_000 });
    const queue = E2E_QUEUES[0] as string;
    await waitFor(
      async () => {
        const run = await pgc(['endpoints', '--json']);
        const list = run.code === 0 ? json<{ endpoints: { status: string }[] }>(run).endpoints : [];
        return list.filter((e) => e.status === 'online').length === 2;
      },
      { what: 'both agents online', timeoutMs: 30_000, intervalMs: 500 },
    );

    // Followed from before it starts: -f waits for it, then streams until it ends.
    const [slow] = await defineCommandJobs(system.sim, queue, [
      'for i in $(seq 1 20); do echo tick-$i; sleep 0.05; done',
    ]);
    const follow = startPgc(['logs', '-f', String(slow), '--server', system.controlAddress]);
    const [big, sleeper] = await defineCommandJobs(
      system.sim,
      queue,
      [
        'seq 1 3000 | sed s/^/out-/; seq 1 400 | sed s/^/err-/ >&2; head -c 6000000 /dev/urandom > out.dat',
        'sleep 3600',
      ],
      { firstSerial: 10, withOutput: true },
    );
    expect(await follow.exited).toBe(0);
    expect(follow.stdout()).toBe(seqLines('tick', 20));

    const ended = await waitFor(
      async () => {
        const j = await getJob(system.sim, big as number);
        return j.status === 'finished' ? j : undefined;
      },
      { what: 'the big job finished', timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(ended.status).toBe('finished');
    const logs = await pgc(['logs', String(big)]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toBe(seqLines('out', 3000));
    expect(logs.stderr).toBe(seqLines('err', 400));
    const tail = await pgc(['logs', String(big), '--stderr', '--tail', '2']);
    expect(tail.stdout).toBe('err-399\nerr-400\n');

    const out = join(dir.path, 'downloads');
    const outputs = await pgc(['outputs', String(big), '-o', out, '--json']);
    expect(outputs.code).toBe(0);
    const [file] = json<{ files: { status: string; file: string; sizeBytes: number }[] }>(
      outputs,
    ).files;
    expect(file?.status).toBe('downloaded');
    expect(file?.sizeBytes).toBe(6_000_000);
    const detail = json<{ files: { kind: string; sha256: string; lfn: string }[] }>(
      await pgc(['job', String(big), '--json']),
    );
    const recorded = detail.files.find((f) => f.kind === 'output');
    const bytes = readFileSync(file?.file as string);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(recorded?.sha256);
    const archive = await pgc(['logs', String(big), '--archive', '-o', join(dir.path, 'log.tgz')]);
    expect(archive.code).toBe(0);
    expect(archive.stdout).toMatch(/adler32 [0-9a-f]{8} verified/);

    // An operator kill of a running payload.
    await waitFor(async () => (await getJob(system.sim, sleeper as number)).status === 'running', {
      what: 'the sleeper running',
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    const kill = await pgc(['kill', String(sleeper), '--reason', 'test kill', '--json']);
    expect(json<{ outcomes: { result: string }[] }>(kill).outcomes[0]?.result).toBe('requested');
    const killedAt = Date.now();
    const killed = await waitFor(
      async () => {
        const j = await getJob(system.sim, sleeper as number);
        return j.pilotErrorCode !== null && ['failed', 'cancelled'].includes(j.status)
          ? j
          : undefined;
      },
      { what: 'PanDA sees the kill', timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(killed.pilotErrorCode).toBe(1205);
    expect(killed.jobSubStatus).toBe('cancelled');
    console.log(`operator kill: PanDA final ${Date.now() - killedAt} ms after Kill returned`);
  }, 180_000);
});
