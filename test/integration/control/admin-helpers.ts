/** What the Admin and CLI tests share: the real `pgc` binary against a control plane, a raw client. */
import { spawn } from 'node:child_process';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ControlPlane } from '../../../control/control-plane.js';
import { JobState } from '../../../control/job-record.js';
import { AdminClient } from '../../../shared/gen/pgc/v1/admin.js';
import type { JobKey } from '../../../shared/gen/pgc/v1/common.js';
import { LogChunk, type LogStream } from '../../../shared/gen/pgc/v1/events.js';
import type { JobResult } from '../../../shared/gen/pgc/v1/job.js';
import { messageIds, type NatsNames } from '../../../shared/nats/subjects.js';
import { PGC_BIN, type PgcRun, runPgc } from '../../harness/pgc.js';
import { waitFor } from '../../harness/wait.js';
import type { TestAgent } from './harness.js';

/** Runs `pgc <args> --server <cp>`; the server is given by flag, as an operator would. */
export function pgcAgainst(cp: () => ControlPlane) {
  return (args: string[], timeoutMs = 30_000): Promise<PgcRun> =>
    runPgc([...args, '--server', cp().grpcAddress], { timeoutMs });
}

/** Parses `--json` output, saying what came instead when it is not JSON. */
export function json<T = Record<string, unknown>>(run: PgcRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${run.code}): ${run.stdout}\nstderr: ${run.stderr}`);
  }
}

export function rawAdmin(address: string): AdminClient {
  return new AdminClient(address, credentials.createInsecure());
}

/** The gRPC error of a unary call that is expected to fail. */
export function failure(
  start: (cb: (err: ServiceError | null) => void) => void,
): Promise<ServiceError> {
  return new Promise((resolve, reject) =>
    start((err) => (err ? resolve(err) : reject(new Error('the call succeeded')))),
  );
}

/** Waits until the record of `key` is in `state`. */
export function untilState(cp: () => ControlPlane, key: JobKey, state: JobState): Promise<unknown> {
  return waitFor(() => cp().job(key)?.state === state, {
    what: `job ${key.pandaId} ${JobState[state]}`,
    timeoutMs: 15_000,
  });
}

/** Runs an accepted job to its end with `result` (the agent's running and result events). */
export async function finish(
  cp: () => ControlPlane,
  agent: TestAgent,
  key: JobKey,
  result: JobResult = agent.result(key),
): Promise<void> {
  await agent.publish(key, { $case: 'running', running: { pid: 42 } });
  await agent.publish(key, { $case: 'result', result });
  await waitFor(
    async () => {
      const r = cp().job(key);
      return r === undefined || r.state === JobState.FINISHED || r.state === JobState.FAILED;
    },
    { what: `job ${key.pandaId} final`, timeoutMs: 15_000 },
  );
}

/** A `pgc` run whose output can be watched while it runs (e.g. `pgc logs -f`). */
export interface LivePgc {
  stdout: () => string;
  stderr: () => string;
  running: () => boolean;
  exited: Promise<number | null>;
  kill: () => void;
}

export function startPgc(args: string[]): LivePgc {
  const child = spawn(process.execPath, [PGC_BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  return {
    stdout: () => out,
    stderr: () => err,
    running: () => child.exitCode === null && child.signalCode === null,
    exited,
    kill: () => child.kill('SIGKILL'),
  };
}

/** Publishes one log chunk exactly as an agent does (subject, encoding, Nats-Msg-Id). */
export async function publishChunk(
  nc: NatsConnection,
  names: NatsNames,
  endpointId: string,
  chunk: LogChunk,
  msgId = messageIds.log(chunk.key as JobKey, chunk.stream, chunk.seq),
): Promise<void> {
  await jetstream(nc).publish(
    names.jobLogs(endpointId, chunk.key?.pandaId ?? 0),
    LogChunk.encode(chunk).finish(),
    { msgID: msgId },
  );
}

/** Splits `text` into chunks of `linesPer` lines, as an agent's log shipper would. */
export function chunksOf(
  key: JobKey,
  stream: LogStream,
  text: string,
  linesPer: number,
): LogChunk[] {
  const lines = text.split(/(?<=\n)/);
  const out: LogChunk[] = [];
  let offset = 0;
  for (let i = 0; i < lines.length; i += linesPer) {
    const data = Buffer.from(lines.slice(i, i + linesPer).join(''));
    out.push({ key, stream, seq: out.length + 1, offset, data, truncated: false, eof: false });
    offset += data.length;
  }
  const last = out.at(-1);
  if (last) last.eof = true;
  return out;
}
