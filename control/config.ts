/**
 * The control plane's settings: one zod schema with each setting's default, unit and help
 * (loaded by shared/config.ts: flag > env > file > default). Zero-config works on one machine:
 * `pgc control run --queue Q` listens on 127.0.0.1:7800 in plaintext, talks to NATS at
 * nats://127.0.0.1:4222 and to a PanDA simulator at http://127.0.0.1:25080 (DESIGN.md, CLI
 * conventions).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ADMIN_ROLES } from '../shared/cert-identity.js';
import { ID_PATTERN } from '../shared/ids.js';
import { DEFAULT_STREAM_SETTINGS } from '../shared/nats/streams.js';
import { isLoopbackHost } from '../shared/tls.js';

const positive = () => z.number().int().positive();
const nonNegative = () => z.number().int().nonnegative();
const id = (what: string) =>
  z.string().regex(ID_PATTERN, `${what}: use 1 to 64 letters, digits, _ or -`);

const tlsSchema = z.strictObject({
  caFile: z.string().min(1).optional().describe('CA bundle the peer must chain to (PEM)'),
  certFile: z.string().min(1).optional().describe("this process's certificate chain (PEM)"),
  keyFile: z.string().min(1).optional().describe("this process's private key (PEM, mode 0600)"),
});

const queueObject = z.strictObject({
  name: id('queue name').describe('PanDA queue (site_name), e.g. BNL_Funcx_Test'),
  prodSourceLabel: z
    .string()
    .regex(/^[a-z_]{1,20}$/)
    .default('user')
    .describe('prod_source_label sent with acquire_jobs'),
  endpoints: z
    .array(id('endpoint id'))
    .optional()
    .describe('endpoint ids allowed to serve this queue; absent: any endpoint'),
});

const adminTokenSchema = z.strictObject({
  name: id('admin token name').describe('who holds the token (appears in logs, never the token)'),
  role: z.enum(ADMIN_ROLES).describe('viewer: read-only Admin calls; operator: also kill, drain'),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'the lowercase hex SHA-256 that `pgc certs token` prints')
    .describe('hash of the token; the token itself is never stored'),
});

/** Names and hashes must be unique: a log line names one holder, a token has one role. */
const adminTokensSchema = z.array(adminTokenSchema).superRefine((tokens, ctx) => {
  for (const field of ['name', 'sha256'] as const) {
    const seen = new Set<string>();
    for (const [i, t] of tokens.entries()) {
      if (seen.has(t[field]))
        ctx.addIssue({ code: 'custom', path: [i, field], message: `${field} appears twice` });
      seen.add(t[field]);
    }
  }
});

/** A queue is its name alone (`--queue Q`, PGC_QUEUES=A,B) or a full entry. */
const queueSchema = z.preprocess((v) => (typeof v === 'string' ? { name: v } : v), queueObject);

export type QueueConfig = z.infer<typeof queueObject>;

const streamsSchema = z.strictObject({
  duplicateWindowMs: positive()
    .default(DEFAULT_STREAM_SETTINGS.duplicateWindowMs)
    .describe('Nats-Msg-Id dedup window of the streams'),
  eventsMaxAgeMs: positive()
    .default(DEFAULT_STREAM_SETTINGS.eventsMaxAgeMs)
    .describe('how long job events are kept'),
  commandsMaxAgeMs: positive()
    .default(DEFAULT_STREAM_SETTINGS.commandsMaxAgeMs)
    .describe('how long commands wait for an offline agent'),
  logsMaxAgeMs: positive()
    .default(DEFAULT_STREAM_SETTINGS.logsMaxAgeMs)
    .describe('how long log chunks are kept'),
  logsMaxBytes: positive()
    .default(DEFAULT_STREAM_SETTINGS.logsMaxBytes)
    .describe('bytes all log chunks may take together'),
  maxMessageBytes: positive()
    .default(DEFAULT_STREAM_SETTINGS.maxMessageBytes)
    .describe('largest message the streams accept'),
  eventsMaxDeliver: positive()
    .default(DEFAULT_STREAM_SETTINGS.eventsMaxDeliver)
    .describe('deliveries of one event before it is given up (the job fails UNDELIVERABLE_RESULT)'),
  eventsAckWaitMs: positive()
    .default(DEFAULT_STREAM_SETTINGS.eventsAckWaitMs)
    .describe('how long an unacknowledged event waits before redelivery'),
  replicas: positive().default(DEFAULT_STREAM_SETTINGS.replicas).describe('stream replicas'),
});

export const controlSchema = z.strictObject({
  queues: z
    .array(queueSchema)
    .default([])
    .describe('PanDA queues to serve (names, or {name, prodSourceLabel, endpoints})'),
  listen: z
    .string()
    .min(1)
    .default('127.0.0.1:7800')
    .describe('gRPC listen address (host:port) for agents')
    .meta({ env: 'PGC_ADDR' }),
  insecure: z
    .boolean()
    .default(false)
    .describe('allow plaintext gRPC on a non-loopback listen address'),
  tls: tlsSchema
    .prefault({})
    .describe(
      'gRPC server TLS; with it every agent and admin needs a client certificate from caFile (admins: or a token)',
    ),
  adminTokens: adminTokensSchema
    .default([])
    .describe(
      'bearer tokens of the Admin service ({name, role, sha256}, from `pgc certs token`); with any, plaintext Admin calls need one too',
    ),
  stateDir: z
    .string()
    .min(1)
    .optional()
    .describe('where job records, the report outbox and leases live (default ~/.pgc/control)'),
  allowNetworkFilesystem: z
    .boolean()
    .default(false)
    .describe('allow the state directory on NFS/GPFS/Lustre (LevelDB locking is unreliable there)'),
  metricsListen: z
    .string()
    .default('127.0.0.1:9464')
    .describe('Prometheus /metrics address; empty: no metrics listener'),
  schedulerId: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/)
    .default('pgc-control')
    .describe("sent to PanDA as scheduler_id (like Harvester's harvester-<id>)"),
  panda: z
    .strictObject({
      url: z.url().default('http://127.0.0.1:25080').describe('PanDA server (or simulator) URL'),
      token: z.string().min(1).optional().describe('OIDC bearer token'),
      origin: z.string().min(1).optional().describe('VO of the token, sent as Origin'),
      tls: tlsSchema
        .prefault({})
        .describe(
          'TLS to PanDA: caFile alone (a token authenticates), certFile with keyFile (x509), or all three',
        ),
      timeoutMs: positive().default(30_000).describe('deadline of one PanDA call'),
    })
    .prefault({}),
  inputUrlTemplates: z
    .array(z.string().min(1))
    .optional()
    .describe(
      'where agents download inputs, with {scope} {lfn} {guid} {dataset}; default for a loopback simulator: <panda.url>/sim/files/{scope}/{lfn}',
    ),
  nats: z
    .strictObject({
      url: z.string().min(1).default('nats://127.0.0.1:4222').describe('NATS server URL'),
      subjectPrefix: id('subject prefix').default('pgc').describe('prefix of every NATS name'),
      nkeySeedFile: z
        .string()
        .min(1)
        .optional()
        .describe(
          "the control plane's NATS nkey seed, written by pgc nats-config (mode 0600; re-read on every reconnect)",
        ),
      user: z
        .string()
        .optional()
        .describe('NATS user name (a site-managed user; prefer nkeySeedFile)'),
      password: z
        .string()
        .optional()
        .describe(
          'NATS password of that user (visible to whoever reads this file or the environment)',
        ),
      streams: streamsSchema.prefault({}),
    })
    .prefault({}),
  pollIntervalMs: positive()
    .default(1000)
    .describe('acquire_jobs interval of a queue with free capacity'),
  idlePollIntervalMs: positive()
    .default(10_000)
    .describe('acquire_jobs interval after PanDA said "No jobs in PanDA"'),
  pollErrorBackoffMaxMs: positive()
    .default(8000)
    .describe('cap of the jittered backoff after a failed acquire_jobs (±20 %, so < 10 s)'),
  maxJobsPerAcquire: positive().default(100).describe('largest n_jobs of one acquire_jobs'),
  dispatchAckTimeoutMs: positive()
    .default(10_000)
    .describe('how long a dispatch waits for its ack before the agent is asked to reconcile'),
  agentLeaseMs: positive()
    .default(600_000)
    .describe('an endpoint disconnected this long loses its attempts (fence kill, failed LOST)'),
  agentPingIntervalMs: positive()
    .default(10_000)
    .describe('ping interval the agents are told in Welcome'),
  agentSilenceTimeoutMs: positive()
    .default(30_000)
    .describe('a stream silent this long (no ping, no message) is closed'),
  pandaHeartbeatIntervalMs: positive()
    .default(600_000)
    .describe('how often PanDA gets a heartbeat of each running job'),
  statusPollIntervalMs: positive()
    .default(30_000)
    .describe('how often job/get_status is asked for kills of our jobs'),
  reportBatchJobs: positive()
    .max(1000)
    .default(100)
    .describe('most jobs in one update_jobs_bulk call'),
  reportRetryMaxMs: positive()
    .default(60_000)
    .describe('cap of the backoff between failed update calls'),
  logsEofGraceMs: positive()
    .default(5000)
    .describe(
      'pgc logs -f ends this long after its job became final when a stream never sent its last chunk (the agent died)',
    ),
  rejectBackoffMs: nonNegative()
    .default(30_000)
    .describe('a job an endpoint rejected is not offered to it again for this long'),
});

export type ControlConfig = z.infer<typeof controlSchema>;

export function defaultControlStateDir(): string {
  return join(homedir(), '.pgc', 'control');
}

/**
 * The input URL templates agents get: the configured ones, else the simulator's replica route
 * when PanDA is on loopback (a production PanDA server is never on loopback).
 */
export function inputUrlTemplates(config: ControlConfig): string[] {
  if (config.inputUrlTemplates !== undefined) return config.inputUrlTemplates;
  const url = new URL(config.panda.url);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!isLoopbackHost(host)) return [];
  return [`${config.panda.url.replace(/\/+$/, '')}/sim/files/{scope}/{lfn}`];
}

/** May this endpoint serve this queue? */
export function mayServe(queue: QueueConfig, endpointId: string): boolean {
  return queue.endpoints === undefined || queue.endpoints.includes(endpointId);
}
