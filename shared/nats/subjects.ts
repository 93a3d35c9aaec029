/**
 * Every NATS name panda-gc uses, built from one configurable prefix (default `pgc`). Subjects
 * are never written inline elsewhere: permissions (pgc nats-config) and code must agree, and
 * ids are validated here before they become subject tokens. Wire contract (DESIGN.md, Wires):
 *   <prefix>.evt.<endpoint>.<pandaId>   job events and final results (stream <PREFIX>_EVT)
 *   <prefix>.cmd.<endpoint>             commands to one agent        (stream <PREFIX>_CMD)
 *   <prefix>.log.<endpoint>.<pandaId>   log chunks                   (stream <PREFIX>_LOG)
 *   object store bucket <prefix>-obj-<endpoint>: log tarballs and small outputs
 */
import type { JobKey } from '../gen/pgc/v1/common.js';
import type { LogStream } from '../gen/pgc/v1/events.js';
import { attemptId, validateId, validatePandaId } from '../ids.js';

export const DEFAULT_PREFIX = 'pgc';

export interface NatsNames {
  readonly prefix: string;
  readonly eventsStream: string;
  readonly commandsStream: string;
  readonly logsStream: string;
  /** The control plane's durable consumer of every event. */
  readonly controlEventsConsumer: string;
  /** All events (the control plane's filter). */
  eventsAll(): string;
  /** All events of one endpoint (that agent's publish permission). */
  eventsOfEndpoint(endpointId: string): string;
  /** Events of one job at one endpoint. */
  jobEvents(endpointId: string, pandaId: number): string;
  commands(endpointId: string): string;
  commandsAll(): string;
  /** The durable consumer an agent pulls its commands from. */
  commandConsumer(endpointId: string): string;
  logsAll(): string;
  logsOfEndpoint(endpointId: string): string;
  jobLogs(endpointId: string, pandaId: number): string;
  /** Object store bucket of one endpoint. */
  bucket(endpointId: string): string;
  /** The inbox prefix an agent's connection uses, so permissions can confine replies. */
  agentInboxPrefix(endpointId: string): string;
}

/** Builds the names for a prefix; throws a ValidationError on a prefix that is not an id. */
export function natsNames(prefix: string = DEFAULT_PREFIX): NatsNames {
  validateId('NATS subject prefix', prefix);
  const upper = prefix.toUpperCase().replace(/-/g, '_');
  const endpoint = (id: string): string => validateId('endpoint id', id);
  const job = (pandaId: number): string => String(validatePandaId(pandaId));
  return {
    prefix,
    eventsStream: `${upper}_EVT`,
    commandsStream: `${upper}_CMD`,
    logsStream: `${upper}_LOG`,
    controlEventsConsumer: 'control-events',
    eventsAll: () => `${prefix}.evt.>`,
    eventsOfEndpoint: (id) => `${prefix}.evt.${endpoint(id)}.>`,
    jobEvents: (id, pandaId) => `${prefix}.evt.${endpoint(id)}.${job(pandaId)}`,
    commands: (id) => `${prefix}.cmd.${endpoint(id)}`,
    commandsAll: () => `${prefix}.cmd.>`,
    commandConsumer: (id) => `agent-${endpoint(id)}`,
    logsAll: () => `${prefix}.log.>`,
    logsOfEndpoint: (id) => `${prefix}.log.${endpoint(id)}.>`,
    jobLogs: (id, pandaId) => `${prefix}.log.${endpoint(id)}.${job(pandaId)}`,
    bucket: (id) => `${prefix}-obj-${endpoint(id)}`,
    agentInboxPrefix: (id) => `_INBOX_${endpoint(id)}`,
  };
}

/**
 * Nats-Msg-Id values. JetStream drops a publish whose id it saw within the duplicate window,
 * so an agent that retries after a lost ack cannot create a second event.
 */
export const messageIds = {
  /** `what` names the event within its attempt: `running`, `heartbeat.<atMs>`, … */
  event: (key: JobKey, what: string | number): string => `evt.${attemptId(key)}.${what}`,
  log: (key: JobKey, stream: LogStream, seq: number): string =>
    `log.${attemptId(key)}.${stream}.${seq}`,
  command: (commandId: string): string => `cmd.${commandId}`,
};

/**
 * Names of objects in an endpoint's bucket. The attempt is part of the name, so a retry of a
 * PanDA job never overwrites or mixes with an earlier attempt's files; readers take the name from
 * the result's `Location`, never rebuild it.
 */
export const objectNames = {
  logArchive: (key: JobKey, lfn: string): string => `log/${attemptId(key)}/${lfn}`,
  output: (key: JobKey, lfn: string): string => `out/${attemptId(key)}/${lfn}`,
};

/** Splits an event or log subject into its endpoint id and PanDA id; undefined if it is not one. */
export function parseJobSubject(
  names: NatsNames,
  subject: string,
): { endpointId: string; pandaId: number } | undefined {
  const parts = subject.split('.');
  if (parts.length !== 4 || parts[0] !== names.prefix || (parts[1] !== 'evt' && parts[1] !== 'log'))
    return undefined;
  const [, , endpointId, pandaText] = parts;
  if (endpointId === undefined || pandaText === undefined || !/^[1-9][0-9]{0,15}$/.test(pandaText))
    return undefined;
  try {
    validateId('endpoint id', endpointId);
  } catch {
    return undefined;
  }
  return { endpointId, pandaId: Number(pandaText) };
}
