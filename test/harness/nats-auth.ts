/**
 * NATS under the accounts `pgc nats-config` writes: runs the real command, starts nats-server
 * with its output, connects as the control plane or as an agent exactly the way they connect
 * (nkey seed file, the agent's inbox and API prefixes), records the permission violations a
 * connection is told about, and snapshots what JetStream holds, so a test can show that an
 * attempt was refused and changed nothing.
 */
import { join } from 'node:path';
import { type JetStreamClient, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { agentSeedFile } from '../../cli/commands/nats-config.js';
import { silentLogger } from '../../shared/logger.js';
import { connectNats } from '../../shared/nats/connect.js';
import { natsAuth } from '../../shared/nats/credentials.js';
import type { LocalNatsServer } from '../../shared/nats/local-server.js';
import { agentJsApiPrefix } from '../../shared/nats/permissions.js';
import { type NatsNames, natsNames } from '../../shared/nats/subjects.js';
import { startNats } from './nats.js';
import { runPgc } from './pgc.js';
import { waitFor } from './wait.js';

export interface NatsAuthFiles {
  names: NatsNames;
  accountsFile: string;
  controlSeedFile: string;
  agentSeedFile: (endpointId: string) => string;
  /** What each agent sets as `nats.jsApiPrefix`. */
  apiPrefix: string;
}

/** Runs `pgc nats-config` for these endpoints into `dir`. */
export async function generateNatsAuth(
  dir: string,
  endpoints: readonly string[],
  prefix = 'pgc',
): Promise<NatsAuthFiles> {
  const accountsFile = join(dir, 'pgc-accounts.conf');
  const credentials = join(dir, 'credentials');
  const run = await runPgc(
    [
      'nats-config',
      ...endpoints.flatMap((id) => ['--endpoint', id]),
      '--prefix',
      prefix,
      '--credentials-dir',
      credentials,
      '-o',
      accountsFile,
    ],
    { timeoutMs: 60_000 },
  );
  if (run.code !== 0) throw new Error(`pgc nats-config failed (${run.code}):\n${run.stderr}`);
  const names = natsNames(prefix);
  return {
    names,
    accountsFile,
    controlSeedFile: join(credentials, 'control.nk'),
    agentSeedFile: (endpointId) => agentSeedFile(credentials, endpointId),
    apiPrefix: agentJsApiPrefix(names),
  };
}

export function startNatsWithAccounts(files: NatsAuthFiles): Promise<LocalNatsServer> {
  return startNats({ configFile: files.accountsFile });
}

export function connectControl(server: LocalNatsServer, files: NatsAuthFiles) {
  const log = silentLogger();
  return connectNats({
    servers: server.url,
    name: 'test control',
    log,
    reconnectTimeWaitMs: 100,
    auth: natsAuth({ nkeySeedFile: files.controlSeedFile }, log),
  });
}

/** An agent's connection and its JetStream client, as agent/agent.ts makes them. */
export async function connectAgent(
  server: LocalNatsServer,
  files: NatsAuthFiles,
  endpointId: string,
): Promise<{ nc: NatsConnection; js: JetStreamClient; violations: Violations }> {
  const log = silentLogger();
  const nc = await connectNats({
    servers: server.url,
    name: `test agent ${endpointId}`,
    log,
    reconnectTimeWaitMs: 100,
    inboxPrefix: files.names.agentInboxPrefix(endpointId),
    auth: natsAuth({ nkeySeedFile: files.agentSeedFile(endpointId) }, log),
  });
  const js = jetstream(nc, { checkAPI: false, apiPrefix: files.apiPrefix, timeout: 3000 });
  return { nc, js, violations: watchViolations(nc) };
}

/** The permission violations the server reported to one connection (asynchronous ones too). */
export interface Violations {
  all: () => string[];
  /** Resolves once a violation naming `subject` was reported. */
  of: (subject: string) => Promise<string>;
}

export function watchViolations(nc: NatsConnection): Violations {
  const seen: string[] = [];
  void (async () => {
    for await (const status of nc.status())
      if (status.type === 'error' && /Permissions Violation/i.test(String(status.error)))
        seen.push(String(status.error));
  })();
  return {
    all: () => [...seen],
    of: (subject) =>
      waitFor(() => seen.find((v) => v.includes(`"${subject}"`)), {
        what: `a permissions violation for ${subject}`,
        timeoutMs: 5000,
      }),
  };
}

/** True once the server logged a violation of this kind for this subject. */
export function serverLogged(
  server: LocalNatsServer,
  kind: 'Publish' | 'Subscription',
  subject: string,
): Promise<true> {
  return waitFor(
    () =>
      server.log
        .split('\n')
        .some((line) => line.includes(`${kind} Violation`) && line.includes(`"${subject}"`)) ||
      undefined,
    { what: `nats-server to log a ${kind} violation for ${subject}`, timeoutMs: 5000 },
  );
}

/**
 * Every stream (object-store buckets included) and consumer with its configuration and the
 * counters that any write, read, ack, purge or delete would move. Timestamps are left out.
 */
export async function jetStreamSnapshot(control: NatsConnection): Promise<unknown> {
  const jsm = await jetstreamManager(control);
  const streams: unknown[] = [];
  for await (const si of jsm.streams.list()) {
    const consumers: unknown[] = [];
    for await (const ci of jsm.consumers.list(si.config.name))
      consumers.push({
        name: ci.name,
        config: ci.config,
        delivered: ci.delivered.stream_seq,
        ackFloor: ci.ack_floor.stream_seq,
        ackPending: ci.num_ack_pending,
        pending: ci.num_pending,
        redelivered: ci.num_redelivered,
        waiting: ci.num_waiting,
      });
    const { messages, bytes, first_seq, last_seq, num_deleted, consumer_count } = si.state;
    streams.push({
      config: si.config,
      state: { messages, bytes, first_seq, last_seq, num_deleted, consumer_count },
      consumers: consumers.sort((a, b) =>
        String((a as { name: string }).name).localeCompare((b as { name: string }).name),
      ),
    });
  }
  return streams.sort((a, b) =>
    JSON.stringify((a as { config: { name: string } }).config.name).localeCompare(
      JSON.stringify((b as { config: { name: string } }).config.name),
    ),
  );
}
