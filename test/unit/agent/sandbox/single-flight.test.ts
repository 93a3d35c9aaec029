import { describe, expect, it } from 'vitest';
import { SingleFlight } from '../../../../agent/sandbox/single-flight.js';

/** A promise the test settles by hand. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('SingleFlight', () => {
  it('runs the work once for concurrent callers of one key and shares the result', async () => {
    const flights = new SingleFlight<string, number>();
    const gate = deferred<number>();
    let calls = 0;
    const work = () => {
      calls++;
      return gate.promise;
    };
    const a = flights.run('k', work);
    const b = flights.run('k', work);
    const other = flights.run('other', () => Promise.resolve(7));
    expect(calls).toBe(1);
    gate.resolve(42);
    await expect(Promise.all([a, b, other])).resolves.toEqual([42, 42, 7]);
    expect(flights.size).toBe(0);
    // a later call starts afresh
    await expect(flights.run('k', () => Promise.resolve(1))).resolves.toBe(1);
  });

  it('calls the work synchronously, so a caller knows whether its work was used', () => {
    const flights = new SingleFlight<string, number>();
    let started = false;
    void flights.run('k', () => {
      started = true;
      return new Promise<number>(() => undefined);
    });
    expect(started).toBe(true);
    let second = false;
    void flights.run('k', () => {
      second = true;
      return Promise.resolve(1);
    });
    expect(second).toBe(false);
  });

  it('shares failures, including a synchronous throw', async () => {
    const flights = new SingleFlight<string, number>();
    const boom = new Error('boom');
    await expect(
      flights.run('k', () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(flights.size).toBe(0);
  });

  it('lets one caller give up without cancelling the work for the others', async () => {
    const flights = new SingleFlight<string, number>();
    const gate = deferred<number>();
    let workSignal: AbortSignal | undefined;
    const leaving = new AbortController();
    const a = flights.run(
      'k',
      (signal) => {
        workSignal = signal;
        return gate.promise;
      },
      leaving.signal,
    );
    const b = flights.run('k', () => Promise.resolve(0));
    leaving.abort(new Error('job killed'));
    await expect(a).rejects.toThrow('job killed');
    expect(workSignal?.aborted).toBe(false);
    gate.resolve(5);
    await expect(b).resolves.toBe(5);
  });

  it('cancels the work when its last caller gives up, and a new caller starts afresh', async () => {
    const flights = new SingleFlight<string, number>();
    let workSignal: AbortSignal | undefined;
    const one = new AbortController();
    const two = new AbortController();
    const never = new Promise<number>(() => undefined);
    const a = flights.run(
      'k',
      (signal) => {
        workSignal = signal;
        return never;
      },
      one.signal,
    );
    const b = flights.run('k', () => never, two.signal);
    one.abort(new Error('first gone'));
    expect(workSignal?.aborted).toBe(false);
    two.abort(new Error('second gone'));
    expect(workSignal?.aborted).toBe(true);
    await expect(a).rejects.toThrow('first gone');
    await expect(b).rejects.toThrow('second gone');
    expect(flights.has('k')).toBe(false);
    await expect(flights.run('k', () => Promise.resolve(3))).resolves.toBe(3);
  });

  it('rejects at once when the signal is already aborted, without starting work', async () => {
    const flights = new SingleFlight<string, number>();
    let started = false;
    await expect(
      flights.run(
        'k',
        () => {
          started = true;
          return Promise.resolve(1);
        },
        AbortSignal.abort(new Error('too late')),
      ),
    ).rejects.toThrow('too late');
    expect(started).toBe(false);
  });

  it('abortAll cancels every flight', () => {
    const flights = new SingleFlight<string, number>();
    const signals: AbortSignal[] = [];
    for (const key of ['a', 'b']) {
      flights
        .run(key, (signal) => {
          signals.push(signal);
          return new Promise<number>((_, reject) =>
            signal.addEventListener('abort', () => reject(signal.reason)),
          );
        })
        .catch(() => undefined);
    }
    flights.abortAll(new Error('shutdown'));
    expect(signals.map((s) => s.aborted)).toEqual([true, true]);
    expect(flights.size).toBe(0);
  });
});
