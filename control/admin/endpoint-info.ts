/**
 * What `pgc endpoints` shows of each endpoint the control plane knows — connected or not: its
 * persisted row (last Hello, last seen), its current session, the records bound to it and an
 * operator's drain. An endpoint is offline without a session, draining when the agent says so
 * or an operator drained it, online otherwise.
 */
import { EndpointInfo, EndpointStatus } from '../../shared/gen/pgc/v1/admin.js';
import type { ControlStore } from '../control-store.js';
import type { EndpointRegistry } from '../endpoint-registry.js';
import { coresOf, memoryOf } from '../job-record.js';
import { combinedUsage } from '../scheduler.js';

/** Every endpoint known here, by id. */
export function endpointInfos(store: ControlStore, registry: EndpointRegistry): EndpointInfo[] {
  const ids = new Set([
    ...store.endpoints.keys(),
    ...store.drains.keys(),
    ...registry.all().map((s) => s.endpointId),
  ]);
  ids.delete('');
  return [...ids].sort().map((id) => endpointInfo(id, store, registry));
}

/** Known: it said Hello once, is connected, or was drained. */
export function isKnownEndpoint(
  id: string,
  store: ControlStore,
  registry: EndpointRegistry,
): boolean {
  return store.endpoints.has(id) || store.drains.has(id) || registry.connected(id);
}

export function endpointInfo(
  id: string,
  store: ControlStore,
  registry: EndpointRegistry,
): EndpointInfo {
  const row = store.endpoints.get(id);
  const session = registry.current(id);
  const bound = store.bound(id);
  const boundSlots = bound.reduce((n, r) => n + coresOf(r), 0);
  const boundMemory = bound.reduce((n, r) => n + memoryOf(r), 0);
  const drained = store.drains.has(id);
  const online = session !== undefined && !session.closed;
  if (!online)
    return EndpointInfo.fromPartial({
      endpointId: id,
      queues: row?.queues ?? [],
      status: EndpointStatus.OFFLINE,
      capacity: {
        slotsTotal: row?.slotsTotal ?? 0,
        slotsUsed: boundSlots,
        memoryMbTotal: 0,
        memoryMbUsed: boundMemory,
        draining: drained,
      },
      runningJobs: bound.length,
      lastSeenMs: row?.lastSeenMs ?? row?.disconnectedAtMs ?? 0,
      agentVersion: row?.agentVersion ?? '',
      drained,
    });
  const c = session.capacity;
  const draining = c.draining || drained;
  return EndpointInfo.fromPartial({
    endpointId: id,
    queues: session.queues,
    status: draining ? EndpointStatus.DRAINING : EndpointStatus.ONLINE,
    capacity: {
      slotsTotal: c.slotsTotal,
      slotsUsed: combinedUsage(c.slotsUsed, boundSlots),
      memoryMbTotal: c.memoryMbTotal,
      memoryMbUsed: combinedUsage(c.memoryMbUsed, boundMemory),
      draining,
    },
    runningJobs: bound.length,
    lastSeenMs: session.lastMessageAtMs,
    agentVersion: session.agentVersion,
    drained,
  });
}
