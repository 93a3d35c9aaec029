import { describe, expect, it } from 'vitest';
import * as admin from '../../../shared/gen/pgc/v1/admin.js';
import * as common from '../../../shared/gen/pgc/v1/common.js';
import * as events from '../../../shared/gen/pgc/v1/events.js';
import * as gateway from '../../../shared/gen/pgc/v1/gateway.js';
import * as job from '../../../shared/gen/pgc/v1/job.js';

interface Codec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
  fromJSON(object: unknown): T;
  toJSON(message: T): unknown;
  fromPartial(object: unknown): T;
  create(object?: unknown): T;
}

const key = { pandaId: 4_321_000_123, attemptNr: 2 };
const failure = {
  code: common.FailureCode.SANDBOX_UNAVAILABLE,
  message: 'cache returned HTTP 503',
  retryable: true,
};
const usage = { cpuTimeMs: 1234, wallTimeMs: 5678, maxRssBytes: 104_857_600 };
const capacity = {
  slotsTotal: 8,
  slotsUsed: 3,
  memoryMbTotal: 16_000,
  memoryMbUsed: 2_000,
  draining: true,
};
const outputInfo: job.OutputInfo = {
  localName: 'out.dat',
  lfn: 'user.x.out.dat',
  sizeBytes: 42,
  adler32: '0a1b2c3d',
  sha256: 'ab'.repeat(32),
  guid: 'c0ffee00-0000-4000-8000-000000000001',
  location: {
    where: { $case: 'object', object: { bucket: 'pgc-obj-ep1', name: 'user.x.out.dat' } },
  },
};
const jobResult: job.JobResult = {
  key,
  exitCode: 1,
  signal: 'SIGKILL',
  failure,
  killReason: common.KillReason.OPERATOR,
  usage,
  returnValueJson: '{"loss": 0.25}',
  outputs: [outputInfo],
  log: { ...outputInfo, localName: 'log.tgz', lfn: 'user.x.log.tgz' },
  startedAtMs: 1_700_000_000_000,
  endedAtMs: 1_700_000_060_000,
  errorDiag: 'ZeroDivisionError: division by zero',
};
const jobSpec: job.JobSpec = {
  key,
  queue: 'BNL_Funcx_Test',
  payload: {
    $case: 'function',
    function: {
      funcName: 'main1',
      preScript: 'from training.train1 import main1',
      argsJson: '[1]',
      kwargsJson: '{"example_run": true}',
    },
  },
  sandbox: { url: 'http://127.0.0.1:25080/cache/jobO.1.tar.gz', sha256: 'cd'.repeat(32) },
  inputs: [
    {
      lfn: 'in.root',
      scope: 'user.x',
      guid: 'g-1',
      sizeBytes: 10,
      checksum: 'ad:0a1b2c3d',
      urls: ['http://h/f'],
      dataset: 'user.x.ds',
    },
  ],
  outputs: [
    {
      localName: 'out.dat',
      lfn: 'user.x.out.dat',
      scope: 'user.x',
      dataset: 'user.x.out',
      guid: 'g-out',
    },
  ],
  log: { lfn: 'user.x.log.tgz', guid: 'g-log', scope: 'user.x' },
  limits: { cores: 2, memoryMb: 2000, walltimeS: 3600, killGraceMs: 5000 },
  env: { PGC_EXAMPLE: '1' },
  taskId: 33455917,
  jobName: 'user.x.job',
  runDir: 'src',
};
const jobSummary = {
  key,
  queue: 'Q1',
  endpointId: 'ep1',
  state: admin.JobState.RUNNING,
  reported: true,
  taskId: 7,
  jobName: 'n',
  createdAtMs: 1,
  updatedAtMs: 2,
  failure,
};
const endpointInfo = {
  endpointId: 'ep1',
  queues: ['Q1', 'Q2'],
  status: admin.EndpointStatus.DRAINING,
  capacity,
  runningJobs: 3,
  lastSeenMs: 99,
  agentVersion: '0.1.0',
};
const attempt = { key, state: gateway.LocalJobState.EXITED_UNPUBLISHED };

/** One fully populated sample per message: every field set, so the round trip covers it. */
const SAMPLES: Record<string, [Codec<unknown>, unknown]> = {
  JobKey: [common.JobKey, key],
  Failure: [common.Failure, failure],
  ObjectRef: [common.ObjectRef, { bucket: 'b', name: 'job-1/log.tgz' }],
  Location: [common.Location, { where: { $case: 'path', path: '/shared/outputs/user.x/out.dat' } }],
  JobSpec: [job.JobSpec, jobSpec],
  JobSpec_EnvEntry: [job.JobSpec_EnvEntry, { key: 'A', value: 'b' }],
  FunctionPayload: [
    job.FunctionPayload,
    { funcName: 'f', preScript: 'from m import f', argsJson: '[]', kwargsJson: '{}' },
  ],
  CommandPayload: [job.CommandPayload, { command: 'python3 run.py --in a.dat,b.dat' }],
  Sandbox: [job.Sandbox, jobSpec.sandbox],
  InputFile: [job.InputFile, jobSpec.inputs[0]],
  OutputFile: [job.OutputFile, jobSpec.outputs[0]],
  LogFile: [job.LogFile, jobSpec.log],
  Limits: [job.Limits, jobSpec.limits],
  ResourceUsage: [job.ResourceUsage, usage],
  OutputInfo: [job.OutputInfo, outputInfo],
  JobResult: [job.JobResult, jobResult],
  JobEvent: [
    events.JobEvent,
    { endpointId: 'ep1', key, seq: 7, atMs: 123, body: { $case: 'result', result: jobResult } },
  ],
  JobAccepted: [events.JobAccepted, {}],
  JobStaging: [events.JobStaging, { message: 'fetching sandbox' }],
  JobRunning: [events.JobRunning, { pid: 4242 }],
  JobHeartbeat: [events.JobHeartbeat, { usage }],
  JobFinishing: [events.JobFinishing, {}],
  LogChunk: [
    events.LogChunk,
    {
      key,
      stream: events.LogStream.STDERR,
      seq: 3,
      offset: 65_536,
      data: Buffer.from([0, 255, 10, 200]),
      truncated: true,
      eof: true,
    },
  ],
  Command: [
    events.Command,
    {
      commandId: 'c-1',
      atMs: 5,
      body: {
        $case: 'kill',
        kill: { key, reason: common.KillReason.PANDA, message: 'tobekilled', graceMs: 3000 },
      },
    },
  ],
  KillJob: [
    events.KillJob,
    { key, reason: common.KillReason.FENCE, message: 'lease expired', graceMs: 1 },
  ],
  AgentMessage: [
    gateway.AgentMessage,
    {
      body: {
        $case: 'dispatchAck',
        dispatchAck: { dispatchId: 'd', key, outcome: { $case: 'accepted', accepted: {} } },
      },
    },
  ],
  ControlMessage: [
    gateway.ControlMessage,
    { body: { $case: 'dispatch', dispatch: { dispatchId: 'd-9', spec: jobSpec } } },
  ],
  Capacity: [gateway.Capacity, capacity],
  AttemptState: [gateway.AttemptState, attempt],
  Hello: [
    gateway.Hello,
    {
      endpointId: 'ep1',
      agentVersion: '0.1.0',
      capacity,
      queues: ['Q1'],
      attempts: [attempt],
      instanceId: 'i-1',
    },
  ],
  Welcome: [gateway.Welcome, { sessionId: 's', epoch: 3, pingIntervalMs: 10_000 }],
  Dispatch: [gateway.Dispatch, { dispatchId: 'd', spec: jobSpec }],
  DispatchAck: [
    gateway.DispatchAck,
    { dispatchId: 'd', key, outcome: { $case: 'rejected', rejected: { reason: failure } } },
  ],
  DispatchAccepted: [gateway.DispatchAccepted, {}],
  DispatchRejected: [gateway.DispatchRejected, { reason: failure }],
  CapacityUpdate: [gateway.CapacityUpdate, { capacity }],
  Ping: [
    gateway.Ping,
    {
      atMs: 1,
      stats: {
        jobsStarted: 9,
        jobsSucceeded: 7,
        jobsFailed: 1,
        jobsRunning: 1,
        logBytesShipped: 4096,
        outputBytesStored: 5_000_000_000,
        rssBytes: 80_000_000,
      },
    },
  ],
  AgentStats: [
    gateway.AgentStats,
    {
      jobsStarted: 3,
      jobsSucceeded: 1,
      jobsFailed: 1,
      jobsRunning: 1,
      logBytesShipped: 1,
      outputBytesStored: 1,
      rssBytes: 1,
    },
  ],
  Pong: [gateway.Pong, { atMs: 2 }],
  ReconcileRequest: [gateway.ReconcileRequest, {}],
  Reconcile: [gateway.Reconcile, { attempts: [attempt] }],
  ListEndpointsRequest: [admin.ListEndpointsRequest, {}],
  EndpointInfo: [admin.EndpointInfo, endpointInfo],
  ListEndpointsResponse: [admin.ListEndpointsResponse, { endpoints: [endpointInfo] }],
  ListJobsRequest: [
    admin.ListJobsRequest,
    {
      states: [admin.JobState.FAILED, admin.JobState.CANCELLED],
      endpointId: 'ep',
      queue: 'Q',
      taskId: 9,
      pageSize: 50,
      pageToken: 'p',
    },
  ],
  JobSummary: [admin.JobSummary, jobSummary],
  ListJobsResponse: [admin.ListJobsResponse, { jobs: [jobSummary], nextPageToken: 'n' }],
  GetJobRequest: [admin.GetJobRequest, { pandaId: 12 }],
  HistoryEntry: [admin.HistoryEntry, { type: 'dispatched', atMs: 3, message: 'to ep1' }],
  JobDetail: [
    admin.JobDetail,
    {
      summary: jobSummary,
      spec: jobSpec,
      history: [{ type: 't', atMs: 1, message: 'm' }],
      result: jobResult,
    },
  ],
  StreamLogsRequest: [
    admin.StreamLogsRequest,
    { pandaId: 1, stream: events.LogStream.STDOUT, follow: true, tailLines: 20 },
  ],
  FetchObjectRequest: [
    admin.FetchObjectRequest,
    { pandaId: 1, what: { $case: 'outputLfn', outputLfn: 'user.x.out.dat' } },
  ],
  DataChunk: [admin.DataChunk, { data: Buffer.from('abc'), offset: 3, totalBytes: 6 }],
  KillRequest: [admin.KillRequest, { pandaIds: [1, 2], reason: 'stuck' }],
  KillOutcome: [
    admin.KillOutcome,
    { pandaId: 1, result: admin.KillResult.REQUESTED, message: 'sent to ep1' },
  ],
  KillResponse: [
    admin.KillResponse,
    { outcomes: [{ pandaId: 2, result: admin.KillResult.UNKNOWN, message: 'no such job' }] },
  ],
  DrainRequest: [admin.DrainRequest, { endpointId: 'ep1' }],
  DrainResponse: [admin.DrainResponse, { endpoint: endpointInfo }],
};

function exportedCodecs(): string[] {
  return [admin, common, events, gateway, job].flatMap((mod) =>
    Object.entries(mod)
      .filter(
        ([, value]) =>
          typeof value === 'object' && value !== null && 'encode' in value && 'decode' in value,
      )
      .map(([name]) => name),
  );
}

describe('proto messages', () => {
  it('have a sample here for every message the contract defines', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(exportedCodecs().sort());
  });

  for (const [name, [codec, sample]] of Object.entries(SAMPLES)) {
    it(`${name} survives a binary and a JSON round trip with every field set`, () => {
      const message = codec.fromPartial(sample);
      const defaults = codec.create() as Record<string, unknown>;
      // Every field of the message carries a non-default value in the sample.
      for (const field of Object.keys(defaults)) {
        expect(
          (sample as Record<string, unknown>)[field],
          `${name}.${field} is not set in the sample`,
        ).not.toEqual(defaults[field]);
      }
      const bytes = codec.encode(message).finish();
      expect(codec.decode(bytes)).toEqual(message);
      expect(codec.fromJSON(JSON.parse(JSON.stringify(codec.toJSON(message))))).toEqual(message);
    });
  }

  it('keeps int64 PanDA ids above 2^32 exact', () => {
    const decoded = common.JobKey.decode(
      common.JobKey.encode({ pandaId: 7_000_000_001, attemptNr: 1 }).finish(),
    );
    expect(decoded.pandaId).toBe(7_000_000_001);
  });

  it('rejects truncated input instead of inventing values', () => {
    const bytes = job.JobSpec.encode(job.JobSpec.fromPartial(jobSpec)).finish();
    expect(() => job.JobSpec.decode(bytes.subarray(0, bytes.length - 2))).toThrow();
  });
});
