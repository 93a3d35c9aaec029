/**
 * Admin.StreamLogs through `pgc logs`, with chunks published into JetStream by the test exactly
 * as an agent would: duplicates, stdout and stderr interleaved out of order, one stream's chunks
 * out of order too. The log reads whole after the job ended with its agent gone; `--tail`,
 * `--stderr`, `--json`; `-f` follows and ends when the job ends (or a grace after it, when the
 * agent died before sending eof).
 */
import { describe, expect, it } from 'vitest';
import { JobState } from '../../../control/job-record.js';
import type { JobKey } from '../../../shared/gen/pgc/v1/common.js';
import { type LogChunk, LogStream } from '../../../shared/gen/pgc/v1/events.js';
import { uniqueId } from '../../harness/nats.js';
import { waitFor } from '../../harness/wait.js';
import {
  chunksOf,
  finish,
  pgcAgainst,
  publishChunk,
  startPgc,
  untilState,
} from './admin-helpers.js';
import { type ControlSetup, defineTestJobs, type TestAgent, useControlEnv } from './harness.js';

const { env, setup } = useControlEnv();

const lines = (prefix: string, n: number): string =>
  Array.from({ length: n }, (_, i) => `${prefix} line ${String(i + 1).padStart(4, '0')}\n`).join(
    '',
  );
const STDOUT_TEXT = lines('out', 300);
const STDERR_TEXT = lines('err', 45);

/** A job accepted and running at a fresh test agent. */
async function runningJob(ctl: ControlSetup): Promise<{ agent: TestAgent; key: JobKey }> {
  const agent = await ctl.agent(uniqueId('ep'));
  const [pandaId] = await defineTestJobs(env.sim, ctl.queue, 1);
  const key = { pandaId: pandaId as number, attemptNr: 1 };
  await untilState(() => ctl.cp, key, JobState.ACCEPTED);
  await agent.publish(key, { $case: 'running', running: { pid: 7 } });
  await untilState(() => ctl.cp, key, JobState.RUNNING);
  return { agent, key };
}

describe('pgc logs', () => {
  it('prints the whole log in order after the job ended with its agent gone, despite duplicates and disorder', async () => {
    const ctl = await setup();
    const pgc = pgcAgainst(() => ctl.cp);
    const { agent, key } = await runningJob(ctl);
    const out = chunksOf(key, LogStream.STDOUT, STDOUT_TEXT, 10);
    const err = chunksOf(key, LogStream.STDERR, STDERR_TEXT, 10);
    expect(out).toHaveLength(30);
    const publish = (c: LogChunk | undefined, retry = false) =>
      c &&
      publishChunk(
        env.nc,
        ctl.names,
        agent.endpointId,
        c,
        retry ? `retry.${c.stream}.${c.seq}` : undefined,
      );
    // stderr first, then stdout with seq 7 before 6, retried chunks stored twice.
    for (const c of err.slice(0, 3)) await publish(c);
    for (const c of out.slice(0, 5)) await publish(c);
    await publish(out[6]);
    await publish(out[5]);
    await publish(out[2], true);
    for (const c of err.slice(3)) await publish(c);
    for (const c of out.slice(7)) await publish(c);
    await publish(err[0], true);
    await publish(out[29], true);
    await finish(() => ctl.cp, agent, key);
    await agent.dispose();

    const all = await pgc(['logs', String(key.pandaId)]);
    expect(all.code).toBe(0);
    expect(all.stdout).toBe(STDOUT_TEXT);
    expect(all.stderr).toBe(STDERR_TEXT);

    const stderrOnly = await pgc(['logs', String(key.pandaId), '--stderr']);
    expect(stderrOnly.stdout).toBe(STDERR_TEXT);
    expect(stderrOnly.stderr).toBe('');

    const tail = await pgc(['logs', String(key.pandaId), '--tail', '3']);
    expect(tail.stdout).toBe(
      STDOUT_TEXT.split(/(?<=\n)/)
        .slice(-3)
        .join(''),
    );
    expect(tail.stderr).toBe(
      STDERR_TEXT.split(/(?<=\n)/)
        .slice(-3)
        .join(''),
    );

    const asJson = await pgc(['logs', String(key.pandaId), '--stdout', '--json']);
    const records = asJson.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { stream: string; seq: number; data: string; eof: boolean });
    expect(records.map((r) => r.seq)).toEqual(out.map((c) => c.seq));
    expect(records.every((r) => r.stream === 'stdout')).toBe(true);
    expect(records.at(-1)?.eof).toBe(true);
    expect(records.map((r) => Buffer.from(r.data, 'base64').toString()).join('')).toBe(STDOUT_TEXT);
  });

  it('-f follows a running job and ends when the job ends', async () => {
    const ctl = await setup();
    const { agent, key } = await runningJob(ctl);
    const out = chunksOf(key, LogStream.STDOUT, STDOUT_TEXT, 20);
    const err = chunksOf(key, LogStream.STDERR, STDERR_TEXT, 20);
    const publish = (c: LogChunk) => publishChunk(env.nc, ctl.names, agent.endpointId, c);
    for (const c of out.slice(0, 3)) await publish(c);
    const follow = startPgc(['logs', '-f', String(key.pandaId), '--server', ctl.cp.grpcAddress]);
    env.defer(() => follow.kill());
    const firstPart = out
      .slice(0, 3)
      .map((c) => Buffer.from(c.data).toString())
      .join('');
    await waitFor(() => follow.stdout() === firstPart, {
      what: 'the first chunks',
      timeoutMs: 20_000,
    });
    for (const c of [...err, ...out.slice(3)]) await publish(c);
    await waitFor(() => follow.stdout() === STDOUT_TEXT && follow.stderr() === STDERR_TEXT, {
      what: 'every chunk followed',
    });
    // Every stream said eof, but the job still runs: -f waits for its end.
    expect(follow.running()).toBe(true);
    const endedAt = Date.now();
    await agent.publish(key, { $case: 'result', result: agent.result(key) });
    expect(await follow.exited).toBe(0);
    expect(Date.now() - endedAt).toBeLessThan(5000);
    expect(follow.stdout()).toBe(STDOUT_TEXT);
    expect(follow.stderr()).toBe(STDERR_TEXT);
  });

  it('-f ends a grace after the job ended when its agent died before sending eof', async () => {
    const ctl = await setup({ logsEofGraceMs: 1000 });
    const pgc = pgcAgainst(() => ctl.cp);
    const { agent, key } = await runningJob(ctl);
    const [first] = chunksOf(key, LogStream.STDOUT, 'partial output\nmore\n', 1);
    if (first) await publishChunk(env.nc, ctl.names, agent.endpointId, first);
    await finish(() => ctl.cp, agent, key, agent.result(key));
    await agent.dispose();
    const started = Date.now();
    const run = await pgc(['logs', '-f', String(key.pandaId)]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('partial output\n');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('says why when there are no logs to read', async () => {
    const ctl = await setup();
    const pgc = pgcAgainst(() => ctl.cp);
    const unknown = await pgc(['logs', '987654321098']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('pgc: no job 987654321098\n');
    await ctl.agent(uniqueId('ep'), { decide: () => 'reject' });
    const [pandaId] = await defineTestJobs(env.sim, ctl.queue, 1);
    await waitFor(
      () => ctl.cp.job({ pandaId: pandaId as number, attemptNr: 1 })?.history.length === 3,
      {
        what: 'rejected once',
      },
    );
    const queued = await pgc(['logs', String(pandaId)]);
    expect(queued.code).toBe(1);
    expect(queued.stderr).toContain(`job ${pandaId} has not started yet (queued)`);
  });
});
