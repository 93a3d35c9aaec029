/**
 * What each gRPC method of the control plane's port demands (docs/protocol.md, "Identities and
 * roles"). The Admin table is typed over every method of the generated service, so a method
 * added to admin.proto does not compile until someone decides its role.
 */

import type { AdminRole } from '../../shared/cert-identity.js';
import { HealthService } from '../../shared/gen/grpc/health/v1/health.js';
import { AdminService } from '../../shared/gen/pgc/v1/admin.js';
import { AgentGatewayService } from '../../shared/gen/pgc/v1/gateway.js';

const ADMIN_ROLE: Record<keyof typeof AdminService, AdminRole> = {
  listEndpoints: 'viewer',
  listJobs: 'viewer',
  getJob: 'viewer',
  streamLogs: 'viewer',
  fetchObject: 'viewer',
  kill: 'operator',
  drain: 'operator',
  undrain: 'operator',
};

export type CallAccess =
  /** grpc.health.v1.Health: open, so probes and load balancers need no credentials. */
  | { service: 'health' }
  | { service: 'agent' }
  | { service: 'admin'; method: string; role: AdminRole }
  /** Not served here: refused whatever the caller holds. */
  | { service: 'unknown' };

const BY_PATH = new Map<string, CallAccess>();
for (const m of Object.values(HealthService)) BY_PATH.set(m.path, { service: 'health' });
for (const m of Object.values(AgentGatewayService)) BY_PATH.set(m.path, { service: 'agent' });
for (const [key, m] of Object.entries(AdminService))
  BY_PATH.set(m.path, {
    service: 'admin',
    method: m.path.slice(m.path.lastIndexOf('/') + 1),
    role: ADMIN_ROLE[key as keyof typeof AdminService],
  });

export function callAccess(path: string): CallAccess {
  return BY_PATH.get(path) ?? { service: 'unknown' };
}

/** Does `held` include what `needed` allows? operator ⊇ viewer. */
export function roleSuffices(held: AdminRole, needed: AdminRole): boolean {
  return held === 'operator' || needed === 'viewer';
}
