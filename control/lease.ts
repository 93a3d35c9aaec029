/**
 * Endpoint leases (docs/protocol.md, Endpoint lease), pure. An endpoint not connected for
 * `agentLeaseMs` loses its attempts. The clock runs only while the control plane runs: after a
 * restart, the time an endpoint had already been away before the control plane stopped still
 * counts, but the control plane's own downtime does not — agents could not reach it then, and
 * fencing every endpoint after a long control-plane outage would kill healthy work
 * (RELIABILITY.md test 40).
 */

export interface EndpointRow {
  endpointId: string;
  /** Grows with every session of the endpoint (Welcome.epoch). */
  epoch: number;
  /** When its last stream ended; absent while connected. Rebased on restart (lease clock). */
  disconnectedAtMs?: number;
  /** What its last Hello said and when it was last heard, for operators (pgc endpoints). */
  agentVersion?: string;
  queues?: string[];
  slotsTotal?: number;
  lastSeenMs?: number;
}

/**
 * The disconnection time to use after a restart at `startMs`, given when the control plane was
 * last known alive. An endpoint that was connected then counts as disconnected at that moment.
 */
export function rebaseDisconnectedAt(
  row: EndpointRow,
  lastAliveMs: number | undefined,
  startMs: number,
): number {
  const alive = Math.min(lastAliveMs ?? startMs, startMs);
  const out = Math.min(row.disconnectedAtMs ?? alive, alive);
  return startMs - (alive - out);
}

/** Has the lease of a disconnected endpoint run out? */
export function leaseExpired(
  disconnectedAtMs: number | undefined,
  now: number,
  leaseMs: number,
): boolean {
  return disconnectedAtMs !== undefined && now - disconnectedAtMs >= leaseMs;
}
