/**
 * Admin.Drain / Undrain: an operator stops (or resumes) new dispatches to an endpoint; jobs
 * running there go on. The drain is persisted, so it survives a control-plane restart, and the
 * scheduler and the PanDA pollers see the endpoint as draining (endpoint-registry.ts views).
 */
import type { DrainRequest, DrainResponse } from '../../shared/gen/pgc/v1/admin.js';
import { validateId } from '../../shared/ids.js';
import type { ControlStore } from '../control-store.js';
import type { EndpointRegistry } from '../endpoint-registry.js';
import { notFound } from './calls.js';
import { endpointInfo, isKnownEndpoint } from './endpoint-info.js';

export interface DrainDeps {
  store: ControlStore;
  registry: EndpointRegistry;
  /** Capacity changed: the dispatcher and the pollers look again. */
  onEndpointChange: () => void;
  now: () => number;
}

export async function setDrained(
  request: DrainRequest,
  drained: boolean,
  deps: DrainDeps,
): Promise<DrainResponse> {
  const id = validateId('endpoint id', request.endpointId);
  // Refusing unknown ids keeps a typo from draining nothing while the real endpoint runs on.
  if (!isKnownEndpoint(id, deps.store, deps.registry))
    throw notFound(`no endpoint ${id}: it never connected to this control plane`);
  await deps.store.saveDrain(id, drained, deps.now());
  deps.onEndpointChange();
  return { endpoint: endpointInfo(id, deps.store, deps.registry) };
}
