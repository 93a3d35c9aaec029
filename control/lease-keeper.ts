/**
 * Runs the endpoint leases (lease.ts): keeps the control plane's liveness clock on disk and,
 * when a disconnected endpoint's lease ends, gives up every attempt still bound to it — each is
 * fenced (a KillJob{FENCE} waits on the endpoint's command subject for its return), failed LOST
 * and reported to PanDA; later events of those attempts are dropped by the transition.
 */
import type { Logger } from '../shared/logger.js';
import type { ControlStore } from './control-store.js';
import type { EndpointRegistry } from './endpoint-registry.js';
import { leaseExpired, rebaseDisconnectedAt } from './lease.js';

export class LeaseKeeper {
  constructor(
    private readonly store: ControlStore,
    private readonly registry: EndpointRegistry,
    private readonly leaseMs: number,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  /** How often leases are checked: a lease ends at most a tenth of it (or 5 s) late. */
  get checkIntervalMs(): number {
    return Math.max(50, Math.min(5000, Math.floor(this.leaseMs / 10)));
  }

  /**
   * At start-up every endpoint is disconnected. Carries each lease over the restart (lease.ts),
   * including endpoints that only bound records still name.
   */
  async restore(startMs: number): Promise<void> {
    const ids = new Set(this.store.endpoints.keys());
    for (const r of this.store.active()) if (r.endpointId) ids.add(r.endpointId);
    for (const endpointId of ids) {
      const row = this.store.endpoints.get(endpointId) ?? { endpointId, epoch: 0 };
      const disconnectedAtMs = rebaseDisconnectedAt(row, this.store.lastAliveMs, startMs);
      await this.store.saveEndpoint({ ...row, disconnectedAtMs });
    }
    await this.store.saveClock(startMs);
  }

  async tick(): Promise<void> {
    const now = this.now();
    await this.store.saveClock(now);
    for (const row of this.store.endpoints.values()) {
      if (this.registry.connected(row.endpointId)) continue;
      if (!leaseExpired(row.disconnectedAtMs, now, this.leaseMs)) continue;
      const bound = this.store.bound(row.endpointId);
      if (bound.length === 0) continue;
      this.log.warn(
        { endpointId: row.endpointId, jobs: bound.map((r) => r.key.pandaId) },
        'endpoint lease expired: its attempts are fenced and failed LOST',
      );
      await this.store.applyMany(
        bound.map((r) => ({
          key: r.key,
          event: { type: 'lease-expired' as const, at: now, endpointId: row.endpointId },
        })),
      );
    }
  }
}
