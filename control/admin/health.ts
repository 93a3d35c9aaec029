/**
 * The standard gRPC health service (grpc.health.v1.Health) for the control plane's port, so a
 * load balancer, a Kubernetes probe or grpc_health_probe can tell whether it serves. The code is
 * generated from proto/grpc/health/v1/health.proto like every other contract (no runtime .proto
 * loader, no extra dependency). "" is the server as a whole; each served service has its own
 * name. Everything is SERVING while the control plane runs and NOT_SERVING once it stops.
 */
import { type ServerWritableStream, status } from '@grpc/grpc-js';
import {
  type HealthCheckRequest,
  type HealthCheckResponse,
  type HealthServer,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from '../../shared/gen/grpc/health/v1/health.js';

export { ServingStatus };

type Watcher = ServerWritableStream<HealthCheckRequest, HealthCheckResponse>;

export class HealthStatus {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Map<Watcher, string>();

  /** `services`: the full names served (e.g. pgc.v1.Admin); "" is added for the server. */
  constructor(services: readonly string[], initial = ServingStatus.NOT_SERVING) {
    for (const name of ['', ...services]) this.statuses.set(name, initial);
  }

  /** Sets every service's status and tells the watchers whose status changed. */
  setAll(next: ServingStatus): void {
    for (const name of this.statuses.keys()) this.statuses.set(name, next);
    for (const [call, name] of this.watchers)
      if (!call.cancelled) call.write({ status: this.statuses.get(name) ?? next });
  }

  /** Ends every Watch call (the server is shutting down: open streams would hold it). */
  endWatches(): void {
    for (const call of this.watchers.keys()) call.end();
    this.watchers.clear();
  }

  service(): HealthServer {
    return {
      check: (call, callback) => {
        const current = this.statuses.get(call.request.service);
        if (current === undefined)
          callback({ code: status.NOT_FOUND, details: `unknown service ${call.request.service}` });
        else callback(null, { status: current });
      },
      watch: (call) => {
        const name = call.request.service;
        // The protocol: an unknown service is SERVICE_UNKNOWN, and the call stays open.
        call.write({ status: this.statuses.get(name) ?? ServingStatus.SERVICE_UNKNOWN });
        this.watchers.set(call, name);
        call.on('cancelled', () => this.watchers.delete(call));
      },
    };
  }
}
