/**
 * The Admin gRPC service (proto/pgc/v1/admin.proto): the operators' view of the control plane,
 * served on the agents' port behind the same credentials. Each method lives in its own file;
 * this one only binds them to the store, the endpoint registry, NATS and the control plane.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { AdminServer } from '../../shared/gen/pgc/v1/admin.js';
import type { JobKey, KillReason } from '../../shared/gen/pgc/v1/common.js';
import { validatePandaId } from '../../shared/ids.js';
import type { Logger } from '../../shared/logger.js';
import type { NatsNames } from '../../shared/nats/subjects.js';
import type { ControlStore } from '../control-store.js';
import type { EndpointRegistry } from '../endpoint-registry.js';
import { recordId } from '../job-record.js';
import type { Transition } from '../job-transition.js';
import { notFound, serverStream, unary } from './calls.js';
import { setDrained } from './drain.js';
import { endpointInfos } from './endpoint-info.js';
import { fetchObject } from './fetch-object.js';
import { listJobs } from './job-listing.js';
import { jobDetail } from './job-views.js';
import { killJobs } from './kill.js';
import { streamLogs } from './stream-logs.js';

export interface AdminDeps {
  store: ControlStore;
  registry: EndpointRegistry;
  nc: NatsConnection;
  names: NatsNames;
  requestKill: (
    key: JobKey,
    reason: KillReason,
    message: string,
  ) => Promise<Transition | undefined>;
  onEndpointChange: () => void;
  /** How long `logs -f` waits for missing eof chunks after its job became final. */
  logsEofGraceMs: number;
  log: Logger;
  now: () => number;
}

export function adminService(deps: AdminDeps): AdminServer {
  const { store, registry, log } = deps;
  const findJob = (pandaId: number) => store.latestAttempt(pandaId);
  const currentJob = async (key: JobKey) =>
    store.get(recordId(key)) ?? (await store.latestAttempt(key.pandaId));
  return {
    listEndpoints: unary('ListEndpoints', log, async () => ({
      endpoints: endpointInfos(store, registry),
    })),
    listJobs: unary('ListJobs', log, (request) =>
      listJobs(request, (after) => store.allRecords(after)),
    ),
    getJob: unary('GetJob', log, async (request) => {
      const pandaId = validatePandaId(request.pandaId);
      const record = await findJob(pandaId);
      if (record === undefined) throw notFound(`no job ${pandaId}`);
      return jobDetail(record);
    }),
    streamLogs: serverStream('StreamLogs', log, (request, write, signal) =>
      streamLogs(request, write, signal, {
        nc: deps.nc,
        names: deps.names,
        findJob,
        currentJob,
        eofGraceMs: deps.logsEofGraceMs,
        now: deps.now,
      }),
    ),
    fetchObject: serverStream('FetchObject', log, (request, write, signal) =>
      fetchObject(request, write, signal, { nc: deps.nc, names: deps.names, findJob }),
    ),
    kill: unary('Kill', log, (request) =>
      killJobs(request, { findJob, requestKill: deps.requestKill }),
    ),
    drain: unary('Drain', log, (request) => setDrained(request, true, deps)),
    undrain: unary('Undrain', log, (request) => setDrained(request, false, deps)),
  };
}
