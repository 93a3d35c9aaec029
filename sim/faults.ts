/**
 * Injected server faults, for tests of what a client does during an outage: `http500` answers
 * every matching request with HTTP 500; `hang` holds it unanswered until the window ends and then
 * drops the connection (a server that accepted the request and died).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendText } from './http-io.js';

export type FaultKind = 'http500' | 'hang';

export interface Fault {
  kind: FaultKind;
  pathPrefix: string;
  untilMs: number;
}

export class Faults {
  private faults: Fault[] = [];
  private readonly held = new Map<NodeJS.Timeout, IncomingMessage>();

  add(fault: Fault): void {
    this.faults.push(fault);
  }

  active(nowMs: number): Fault[] {
    this.faults = this.faults.filter((f) => f.untilMs > nowMs);
    return [...this.faults];
  }

  /** The fault that applies to a request path now, if any (the latest added wins). */
  match(path: string, nowMs: number): Fault | undefined {
    return this.active(nowMs)
      .reverse()
      .find((f) => path.startsWith(f.pathPrefix));
  }

  /** Answers or holds the request as the fault says. */
  inflict(fault: Fault, req: IncomingMessage, res: ServerResponse, nowMs: number): void {
    if (fault.kind === 'http500') {
      req.resume();
      sendText(res, 500, 'panda-sim: injected fault (http500)', { connection: 'close' });
      return;
    }
    req.resume(); // read and drop the body, answer nothing
    const timer = setTimeout(
      () => {
        this.held.delete(timer);
        req.socket.destroy();
      },
      Math.max(0, fault.untilMs - nowMs),
    );
    this.held.set(timer, req);
  }

  /** Ends every fault now; held requests lose their connection at once. */
  clear(): void {
    this.faults = [];
    for (const [timer, req] of this.held) {
      clearTimeout(timer);
      req.socket.destroy();
    }
    this.held.clear();
  }
}
