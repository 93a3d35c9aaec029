/**
 * The agent's settings: one zod schema with each setting's default, unit and help
 * (docs/configuration.md is generated from it). Loaded by shared/config.ts: flag > env > file >
 * default. The end-to-end issue adds the connection settings.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ID_PATTERN } from '../shared/ids.js';
import { DEFAULT_PASS_ENV, isSecretName } from './runner/payload-argv.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const positive = () => z.number().int().positive();
const nonNegative = () => z.number().int().nonnegative();

export const agentSandboxSchema = z.strictObject({
  allowHosts: z
    .array(z.string().min(1))
    .default([])
    .describe(
      'hosts sandboxes and inputs may be downloaded from, besides loopback (exact names or *.suffix)',
    ),
  quotaBytes: positive()
    .default(10 * GiB)
    .describe(
      'disk the sandbox store may use before unreferenced entries are evicted, least recently used first',
    ),
  fetchTimeoutMs: positive().default(300_000).describe('deadline of one sandbox download'),
  maxDownloadBytes: positive().default(GiB).describe('largest sandbox archive accepted'),
  maxExtractedBytes: positive()
    .default(4 * GiB)
    .describe('largest total size a sandbox may extract to'),
  maxEntries: positive().default(100_000).describe('most entries a sandbox archive may hold'),
  extractTimeoutMs: positive().default(600_000).describe('deadline of one extraction'),
  buildCommand: z
    .string()
    .optional()
    .describe(
      'shell command run once per sandbox, in the extracted tree, before it is frozen (e.g. pip install --target . -r requirements.txt)',
    ),
  buildTimeoutMs: positive().default(1_800_000).describe('deadline of the build command'),
});

export const agentNatsSchema = z.strictObject({
  url: z
    .string()
    .min(1)
    .default('nats://127.0.0.1:4222')
    .describe('NATS server URL(s), comma-separated'),
  prefix: z
    .string()
    .regex(ID_PATTERN)
    .default('pgc')
    .describe('subject prefix shared with the control plane'),
  nkeySeedFile: z
    .string()
    .min(1)
    .optional()
    .describe(
      "this agent's NATS nkey seed, written by pgc nats-config (mode 0600; re-read on every reconnect, so it can be rotated)",
    ),
  jsApiPrefix: z
    .string()
    .regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/)
    .default('$JS.API')
    .describe(
      'JetStream API prefix; under the accounts pgc nats-config writes it is JS.<PREFIX>.API (the command prints it)',
    ),
  user: z.string().optional().describe('NATS user name (a site-managed user; prefer nkeySeedFile)'),
  password: z
    .string()
    .optional()
    .describe('NATS password of that user (visible to whoever reads this file or the environment)'),
});

export const agentTlsSchema = z.strictObject({
  caFile: z.string().optional().describe("CA the control plane's certificate must chain to"),
  certFile: z
    .string()
    .optional()
    .describe(
      "this agent's certificate; its URI SAN pgc:agent:<endpointId> must name this endpoint (pgc certs issue --endpoint)",
    ),
  keyFile: z.string().optional().describe("this agent's private key (mode 0600)"),
});

export const agentSchema = z.strictObject({
  endpointId: z
    .string()
    .regex(ID_PATTERN, 'use 1 to 64 letters, digits, _ or -')
    .describe("this endpoint's id, e.g. bnl-gc-01")
    .meta({ env: 'PGC_ENDPOINT' }),
  stateDir: z
    .string()
    .min(1)
    .optional()
    .describe(
      'where the agent keeps its journal, sandboxes and job directories (default ~/.pgc/agent/<endpointId>); must be a local disk',
    ),
  python: z
    .string()
    .min(1)
    .default('python3')
    .describe(
      'Python interpreter for function payloads (a venv or conda python works); resolved once to its real path',
    ),
  maxLogBytes: positive()
    .default(256 * MiB)
    .describe(
      'per stream: past it nothing more is shipped or archived; a job is killed when a log passes twice this',
    ),
  killGraceMs: nonNegative()
    .default(10_000)
    .describe('time between SIGTERM and SIGKILL when a job is killed'),
  maxKillGraceMs: nonNegative().default(60_000).describe("cap on a job's own kill grace"),
  maxWalltimeS: nonNegative()
    .default(0)
    .describe("cap on any job's walltime (0: only the job's own limit)"),
  maxMemoryMb: nonNegative()
    .default(0)
    .describe("cap on any job's resident memory, whole process tree (0: only the job's own limit)"),
  maxOutputBytes: positive()
    .default(50 * GiB)
    .describe('largest output file collected'),
  logShipMaxBytes: positive()
    .default(64 * MiB)
    .describe(
      'per job and stream: log bytes shipped live to JetStream; past it one chunk with the truncation marker ends the stream (the tarball keeps up to maxLogBytes)',
    ),
  objectStoreMaxBytes: nonNegative()
    .default(64 * MiB)
    .describe(
      "outputs up to this size go to the endpoint's object-store bucket; larger ones are placed in outputsDir",
    ),
  outputsDir: z
    .string()
    .min(1)
    .optional()
    .describe(
      'where outputs larger than objectStoreMaxBytes are placed, as <scope>/<lfn> (default <stateDir>/outputs); in production a filesystem the site shares',
    ),
  keepJobDirHours: z
    .number()
    .nonnegative()
    .default(24)
    .describe(
      "how long a job's directory is kept after its result was published, in hours (fractions allowed)",
    ),
  metricsListen: z
    .string()
    .default('')
    .describe(
      "host:port of the agent's own Prometheus /metrics (off by default: the control plane already serves every endpoint's counters)",
    )
    .meta({ env: 'PGC_AGENT_METRICS_LISTEN' }),
  monitorIntervalMs: positive()
    .default(1000)
    .describe('how often memory and log sizes are sampled'),
  heartbeatIntervalMs: positive()
    .default(30_000)
    .describe('how often a running job reports its resource use'),
  inputDirs: z
    .array(z.string().min(1))
    .default([])
    .describe('local directories searched for inputs before their URLs (flat or <scope>/<lfn>)'),
  passEnv: z
    .array(
      z
        .string()
        .min(1)
        .refine((name) => !isSecretName(name), {
          message:
            'names a credential or an agent setting (PGC_*, *TOKEN*, *PASSWORD*, *SECRET*…), which payloads never get',
        }),
    )
    .default(DEFAULT_PASS_ENV)
    .describe("variables of the agent's environment passed to payloads; nothing else is"),
  runAsUser: z
    .string()
    .min(1)
    .optional()
    .describe(
      "run payloads as this user (name or uid; the agent must run as root): they can then read neither the agent's /proc entries, nor its credentials, nor its state",
    ),
  allowNetworkFilesystem: z
    .boolean()
    .default(false)
    .describe('allow the state directory on NFS/GPFS/Lustre (LevelDB locking is unreliable there)'),
  sandbox: agentSandboxSchema.prefault({}),
  server: z
    .string()
    .min(1)
    .default('127.0.0.1:7800')
    .describe('control-plane gRPC address (host:port)')
    .meta({ env: 'PGC_ADDR' }),
  queues: z
    .array(z.string().regex(ID_PATTERN))
    .default([])
    .describe('PanDA queues this endpoint offers to serve'),
  slots: positive().default(8).describe('job slots; a job takes coreCount of them'),
  memoryMb: nonNegative()
    .default(0)
    .describe("memory jobs may reserve in total (0: half of this host's memory)"),
  insecure: z
    .boolean()
    .default(false)
    .describe('allow plaintext gRPC to a non-loopback control plane'),
  nats: agentNatsSchema.prefault({}),
  tls: agentTlsSchema.prefault({}),
});

export type AgentConfig = z.infer<typeof agentSchema>;

export function defaultAgentStateDir(endpointId: string): string {
  return join(homedir(), '.pgc', 'agent', endpointId);
}
