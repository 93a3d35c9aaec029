/**
 * One agent's Connect stream as the control plane sees it: who is on the other end (from its
 * Hello), its capacity, the dispatches waiting for their ack, and whether it is still alive.
 * Liveness is the stream being open plus the agent's pings: a stream silent for longer than the
 * silence timeout is closed, so its endpoint's lease starts to run (gRPC keepalive catches
 * half-open connections underneath).
 *
 *   hello ──Hello──▶ reconciling ──Welcome sent──▶ live ──stream ends / replaced / silent──▶ closed
 */
import { randomUUID } from 'node:crypto';
import type { ServerDuplexStream, status } from '@grpc/grpc-js';
import { type IdentityReading, readCertificateIdentity } from '../shared/cert-identity.js';
import type { JobKey } from '../shared/gen/pgc/v1/common.js';
import type { AgentMessage, Capacity, ControlMessage } from '../shared/gen/pgc/v1/gateway.js';

export type SessionState = 'hello' | 'reconciling' | 'live' | 'closed';

export type AgentCall = ServerDuplexStream<AgentMessage, ControlMessage>;

const NO_CAPACITY: Capacity = {
  slotsTotal: 0,
  slotsUsed: 0,
  memoryMbTotal: 0,
  memoryMbUsed: 0,
  draining: false,
};

export class AgentSession {
  readonly sessionId = randomUUID();
  state: SessionState = 'hello';
  endpointId = '';
  instanceId = '';
  agentVersion = '';
  epoch = 0;
  capacity: Capacity = NO_CAPACITY;
  /** Queues the agent offers that this endpoint may serve. */
  queues: string[] = [];
  lastMessageAtMs: number;
  private readonly acks = new Map<string, { key: JobKey; timer: NodeJS.Timeout }>();
  private readonly closeListeners: Array<() => void> = [];

  constructor(
    private readonly call: AgentCall,
    now: number,
  ) {
    this.lastMessageAtMs = now;
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  /**
   * What the peer's client certificate says (shared/cert-identity.ts); undefined without one.
   * grpc-js shows only certificates that TLS verified against the CA.
   */
  peerIdentity(): IdentityReading | undefined {
    const cert = this.call.getAuthContext().sslPeerCertificate;
    return cert ? readCertificateIdentity(cert) : undefined;
  }

  get peer(): string {
    return this.call.getPeer();
  }

  /** Writes to the stream; false when the session is closed (nothing was sent). */
  send(message: ControlMessage): boolean {
    if (this.state === 'closed' || this.call.destroyed || this.call.writableEnded) return false;
    // write() returning false is backpressure: the message is buffered and goes out in order.
    this.call.write(message);
    return true;
  }

  /** Starts the deadline of a dispatch's ack. */
  expectAck(dispatchId: string, key: JobKey, timeoutMs: number, onTimeout: () => void): void {
    const timer = setTimeout(() => {
      this.acks.delete(dispatchId);
      onTimeout();
    }, timeoutMs);
    this.acks.set(dispatchId, { key, timer });
  }

  /** The attempt a pending dispatch was for; clears its deadline. */
  takeAck(dispatchId: string): JobKey | undefined {
    const pending = this.acks.get(dispatchId);
    if (pending === undefined) return undefined;
    clearTimeout(pending.timer);
    this.acks.delete(dispatchId);
    return pending.key;
  }

  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  /**
   * Ends the session. With `error` the agent sees that status (and reconnects with backoff);
   * without, the stream ends cleanly. Idempotent.
   */
  close(error?: { code: status; details: string }): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    for (const { timer } of this.acks.values()) clearTimeout(timer);
    this.acks.clear();
    try {
      if (error !== undefined) this.call.emit('error', error);
      else if (!this.call.writableEnded) this.call.end();
    } catch {
      // The transport is gone already; nothing left to tell the agent.
    }
    for (const listener of this.closeListeners.splice(0)) listener();
  }
}
