/**
 * Issue 6's acceptance through the `pgc` binary against the whole system: a 50 MB output comes
 * back byte-identical after its job ended and both agents are stopped; `pgc logs -f` of a job
 * printing for a while shows every line once, in order; an operator kill ends the payload's
 * whole tree within 5 s of the Kill call returning and PanDA gets 1205.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MARKER_VARIABLE } from '../../agent/agent-core.js';
import { processesByMarker } from '../../agent/proc.js';
import { attemptId } from '../../shared/ids.js';
import { E2E_QUEUES, startE2E } from '../harness/e2e.js';
import { PAYLOAD_FIXTURE } from '../harness/payload.js';
import { runPgc } from '../harness/pgc.js';
import { getJob } from '../harness/sim.js';
import type { TestSystem } from '../harness/system.js';
import { tempDir } from '../harness/temp.js';
import { waitFor } from '../harness/wait.js';
import { defineCommandJobs } from '../harness/workload.js';
import { json, startPgc } from '../integration/control/admin-helpers.js';

const QUEUE = E2E_QUEUES[0] as string;

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => hash.update(d))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });
}

function alive(pandaId: number): number[] {
  const attempt = attemptId({ pandaId, attemptNr: 1 });
  // A marker is <endpoint>/<attempt>/<nonce>.
  for (const [marker, procs] of processesByMarker(MARKER_VARIABLE))
    if (marker.split('/')[1] === attempt) return procs.map((p) => p.pid);
  return [];
}

async function ended(system: TestSystem, pandaId: number, status: string): Promise<void> {
  await waitFor(async () => (await getJob(system.sim, pandaId)).status === status, {
    what: `job ${pandaId} ${status}`,
    timeoutMs: 120_000,
    intervalMs: 250,
  });
}

describe('admin verbs end to end', () => {
  it('50 MB back byte-identical with the agents stopped; -f in order; operator kill in 5 s', async () => {
    using dir = tempDir('pgc-e2e-admin-');
    await using system = await startE2E(dir.path);
    const pgc = (args: string[]) =>
      runPgc([...args, '--server', system.controlAddress], { timeoutMs: 120_000 });

    // 20,000 numbered lines over ~2 s, followed from the moment the job is defined.
    const [chatty] = await defineCommandJobs(system.sim, QUEUE, [
      'for i in $(seq 1 20); do seq $(( (i-1)*1000+1 )) $(( i*1000 )); sleep 0.1; done',
    ]);
    // A PanDA id the control plane has not acquired yet is unknown to it: wait until it is.
    await waitFor(async () => (await pgc(['job', String(chatty)])).code === 0, {
      what: 'the job known to the control plane',
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    const follow = startPgc(['logs', '-f', String(chatty), '--server', system.controlAddress]);
    const [big] = await defineCommandJobs(
      system.sim,
      QUEUE,
      ['head -c 52428800 /dev/urandom > out.dat'],
      { firstSerial: 50, withOutput: true },
    );
    expect(await follow.exited, follow.stderr()).toBe(0);
    const lines = follow.stdout().split('\n').filter(Boolean).map(Number);
    expect(lines).toHaveLength(20_000);
    expect(lines.every((n, i) => n === i + 1)).toBe(true);

    await ended(system, big as number, 'finished');
    // PanDA's output report says where the file is: the endpoint's object-store bucket.
    const report = JSON.parse(
      (await getJob(system.sim, big as number)).outputReport ?? '{}',
    ) as Record<string, { surl?: string; fsize?: number }>;
    const reported = Object.values(report).find((f) => f.fsize === 52_428_800);
    expect(reported?.surl).toMatch(/^nats-object:\/\/pgc-obj-e2e-[ab]\/out\//);
    for (const agent of system.agents.values()) await agent.stop('SIGTERM');
    const out = join(dir.path, 'downloads');
    const outputs = await pgc(['outputs', String(big), '-o', out, '--json']);
    expect(outputs.code, outputs.stderr).toBe(0);
    const [file] = json<{ files: { status: string; file: string; sizeBytes: number }[] }>(
      outputs,
    ).files;
    expect(file?.status).toBe('downloaded');
    expect(file?.sizeBytes).toBe(52_428_800);
    const detail = json<{ files: { kind: string; sha256: string }[] }>(
      await pgc(['job', String(big), '--json']),
    );
    const recorded = detail.files.find((f) => f.kind === 'output')?.sha256;
    expect(await sha256File(file?.file as string)).toBe(recorded);

    // An operator kill of a payload tree (the payload and two grandchildren).
    for (const agent of system.agents.values()) agent.start();
    const [tree] = await defineCommandJobs(system.sim, QUEUE, [
      `python3 ${PAYLOAD_FIXTURE} --run-ms -1 --spawn-grandchild 2`,
    ]);
    const pids = await waitFor(
      () => (alive(tree as number).length >= 4 ? alive(tree as number) : undefined),
      {
        what: 'the payload tree running',
        timeoutMs: 60_000,
      },
    );
    await ended(system, tree as number, 'running');
    const kill = await pgc(['kill', String(tree), '--reason', 'operator test', '--json']);
    expect(kill.code, kill.stderr).toBe(0);
    const killReturned = Date.now();
    await waitFor(() => alive(tree as number).length === 0, {
      what: `the tree ${pids.join(', ')} gone`,
      timeoutMs: 5_000,
      intervalMs: 20,
    });
    console.log(`operator kill: tree gone ${Date.now() - killReturned} ms after Kill returned`);
    const view = await waitFor(
      async () => {
        const j = await getJob(system.sim, tree as number);
        return j.pilotErrorCode !== null ? j : undefined;
      },
      { what: 'PanDA sees the kill', timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(view.pilotErrorCode).toBe(1205);
    expect(view.jobSubStatus).toBe('cancelled');
  }, 300_000);
});
