/**
 * In-process single-flight: concurrent requests for one key share one piece of work (one
 * download, one extraction). Each caller may give up on its own AbortSignal without cancelling
 * the others; the work itself is cancelled only when its last caller has gone, so a job killed
 * while its sandbox installs does not fail a sibling job waiting for the same archive.
 */

interface Flight<V> {
  promise: Promise<V>;
  controller: AbortController;
  waiters: number;
}

export class SingleFlight<K, V> {
  private readonly flights = new Map<K, Flight<V>>();

  /** Keys with work in progress (for tests and diagnostics). */
  get size(): number {
    return this.flights.size;
  }

  has(key: K): boolean {
    return this.flights.has(key);
  }

  /**
   * Joins the flight for `key`, starting `work` if there is none. `work` is called synchronously
   * when it starts. Rejects with the caller's abort reason as soon as `signal` aborts.
   */
  run(key: K, work: (signal: AbortSignal) => Promise<V>, signal?: AbortSignal): Promise<V> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    let flight = this.flights.get(key);
    if (flight === undefined) {
      const controller = new AbortController();
      let working: Promise<V>;
      try {
        working = work(controller.signal);
      } catch (err) {
        working = Promise.reject(err);
      }
      const started: Flight<V> = {
        controller,
        waiters: 0,
        promise: working.finally(() => {
          if (this.flights.get(key) === started) this.flights.delete(key);
        }),
      };
      flight = started;
      this.flights.set(key, flight);
    }
    const joined = flight;
    joined.waiters++;
    return new Promise<V>((resolve, reject) => {
      let left = false;
      const leave = (): void => {
        if (left) return;
        left = true;
        signal?.removeEventListener('abort', onAbort);
        joined.waiters--;
      };
      const onAbort = (): void => {
        if (left) return;
        leave();
        if (joined.waiters === 0) {
          // Nobody wants the result any more: cancel the work and let a later caller start
          // afresh instead of joining a flight that is winding down.
          if (this.flights.get(key) === joined) this.flights.delete(key);
          joined.controller.abort(abortReason(signal as AbortSignal));
        }
        reject(abortReason(signal as AbortSignal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      joined.promise.then(
        (value) => {
          if (left) return;
          leave();
          resolve(value);
        },
        (err: unknown) => {
          if (left) return;
          leave();
          reject(err);
        },
      );
    });
  }

  /** Cancels every flight (shutdown). */
  abortAll(reason: unknown): void {
    for (const flight of this.flights.values()) flight.controller.abort(reason);
    this.flights.clear();
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('aborted');
}
