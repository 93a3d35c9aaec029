/**
 * The endpoints the control plane knows: the current session of each (one per endpoint; a new
 * stream replaces the older one), and the capacity view the scheduler and the pollers work from.
 * Work on one endpoint (a Hello and its reconcile) runs one at a time.
 */
import type { Logger } from '../shared/logger.js';
import type { AgentSession } from './agent-session.js';
import type { ControlStore } from './control-store.js';
import { combinedUsage, type EndpointView } from './scheduler.js';

export class EndpointRegistry {
  private readonly sessions = new Map<string, AgentSession>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: ControlStore,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  /** Runs `fn` after every earlier piece of work on this endpoint has finished. */
  exclusive<T>(endpointId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(endpointId) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const settled = run.catch(() => undefined);
    this.locks.set(endpointId, settled);
    void settled.then(() => {
      if (this.locks.get(endpointId) === settled) this.locks.delete(endpointId);
    });
    return run;
  }

  current(endpointId: string): AgentSession | undefined {
    return this.sessions.get(endpointId);
  }

  /** Connected: a session exists (reconciling or live). The lease clock stops meanwhile. */
  connected(endpointId: string): boolean {
    return this.sessions.has(endpointId);
  }

  live(): AgentSession[] {
    return [...this.sessions.values()].filter((s) => s.state === 'live');
  }

  all(): AgentSession[] {
    return [...this.sessions.values()];
  }

  /** Makes `session` the endpoint's current one, ending an older stream of the same endpoint. */
  attach(session: AgentSession): void {
    const old = this.sessions.get(session.endpointId);
    this.sessions.set(session.endpointId, session);
    if (old !== undefined && old !== session) {
      this.log.info(
        { endpointId: session.endpointId, old: old.sessionId, new: session.sessionId },
        'a new stream replaces the older one of this endpoint',
      );
      old.close();
    }
  }

  /** A closed session: if it was current, the endpoint is disconnected and its lease runs. */
  async detach(session: AgentSession): Promise<void> {
    if (session.endpointId === '' || this.sessions.get(session.endpointId) !== session) return;
    this.sessions.delete(session.endpointId);
    const row = this.store.endpoints.get(session.endpointId);
    const disconnectedAtMs = this.now();
    this.log.info({ endpointId: session.endpointId }, 'endpoint disconnected; its lease runs');
    await this.store.saveEndpoint({
      ...row,
      endpointId: session.endpointId,
      epoch: row?.epoch ?? session.epoch,
      disconnectedAtMs,
      lastSeenMs: session.lastMessageAtMs,
    });
  }

  /**
   * Live endpoints as the scheduler sees them. O(endpoints + their bound records): the bound
   * usage comes from the store's per-endpoint index, not from a scan of every record.
   */
  views(): EndpointView[] {
    return this.live().map((s) => {
      const bound = this.store.boundUsage(s.endpointId);
      return {
        endpointId: s.endpointId,
        queues: s.queues,
        slotsTotal: s.capacity.slotsTotal,
        slotsUsed: combinedUsage(s.capacity.slotsUsed, bound.slots),
        memoryMbTotal: s.capacity.memoryMbTotal,
        memoryMbUsed: combinedUsage(s.capacity.memoryMbUsed, bound.memoryMb),
        // The agent's own drain (it is stopping) or an operator's (pgc drain, persisted).
        draining: s.capacity.draining || this.store.drains.has(s.endpointId),
      };
    });
  }
}
