import { describe, expect, it } from 'vitest';
import {
  combinedUsage,
  type EndpointView,
  freeCapacity,
  type QueuedJob,
  schedule,
} from '../../../control/scheduler.js';

function endpoint(endpointId: string, patch: Partial<EndpointView> = {}): EndpointView {
  return {
    endpointId,
    queues: ['Q'],
    slotsTotal: 4,
    slotsUsed: 0,
    memoryMbTotal: 0,
    memoryMbUsed: 0,
    draining: false,
    ...patch,
  };
}

let next = 1;
function job(patch: Partial<QueuedJob> = {}): QueuedJob {
  const pandaId = next++;
  return {
    key: { pandaId, attemptNr: 1 },
    id: String(pandaId),
    queue: 'Q',
    cores: 1,
    memoryMb: 0,
    ...patch,
  };
}

const placed = (
  jobs: QueuedJob[],
  endpoints: EndpointView[],
  excluded?: (j: string, e: string) => boolean,
) => schedule(jobs, endpoints, excluded).map((a) => [a.job.id, a.endpointId]);

describe('schedule', () => {
  it('spreads jobs over endpoints by load', () => {
    const jobs = [job(), job(), job(), job()];
    const out = placed(jobs, [endpoint('a'), endpoint('b')]);
    expect(out.map(([, e]) => e)).toEqual(['a', 'b', 'a', 'b']);
  });

  it('weighs load by size: a bigger endpoint takes more', () => {
    const jobs = Array.from({ length: 6 }, () => job());
    const out = placed(jobs, [
      endpoint('big', { slotsTotal: 8 }),
      endpoint('small', { slotsTotal: 4 }),
    ]);
    expect(out.filter(([, e]) => e === 'big')).toHaveLength(4);
    expect(out.filter(([, e]) => e === 'small')).toHaveLength(2);
  });

  it('counts a job as its cores and never overfills an endpoint', () => {
    const jobs = [job({ cores: 3 }), job({ cores: 2 }), job({ cores: 1 })];
    const out = placed(jobs, [endpoint('a', { slotsUsed: 1 })]);
    expect(out).toEqual([[jobs[0]?.id, 'a']]);
  });

  it('places a job only where its memory fits; 0 total means the endpoint does not account memory', () => {
    const big = job({ memoryMb: 3000 });
    expect(placed([big], [endpoint('a', { memoryMbTotal: 4000, memoryMbUsed: 2000 })])).toEqual([]);
    expect(placed([big], [endpoint('a', { memoryMbTotal: 4000, memoryMbUsed: 1000 })])).toEqual([
      [big.id, 'a'],
    ]);
    expect(placed([big], [endpoint('a', { memoryMbTotal: 0 })])).toEqual([[big.id, 'a']]);
    const two = [job({ memoryMb: 1500 }), job({ memoryMb: 1500 })];
    expect(placed(two, [endpoint('a', { memoryMbTotal: 2000 })])).toHaveLength(1);
  });

  it('respects queues and skips draining endpoints', () => {
    const other = job({ queue: 'OTHER' });
    const mine = job();
    const out = placed(
      [other, mine],
      [endpoint('drain', { draining: true, queues: ['Q', 'OTHER'] }), endpoint('a')],
    );
    expect(out).toEqual([[mine.id, 'a']]);
  });

  it('keeps the oldest job first but lets smaller ones use what is left', () => {
    const large = job({ cores: 4 });
    const small = job({ cores: 1 });
    expect(placed([large, small], [endpoint('a', { slotsUsed: 2 })])).toEqual([[small.id, 'a']]);
  });

  it('does not offer a job to an endpoint that rejected it', () => {
    const j = job();
    expect(
      placed([j], [endpoint('a', { slotsTotal: 8 }), endpoint('b')], (_, e) => e === 'a'),
    ).toEqual([[j.id, 'b']]);
  });

  it('breaks ties by free memory, then by endpoint id', () => {
    const j = job();
    expect(placed([j], [endpoint('b'), endpoint('a')])).toEqual([[j.id, 'a']]);
    expect(
      placed([j], [endpoint('a', { memoryMbTotal: 100 }), endpoint('b', { memoryMbTotal: 200 })]),
    ).toEqual([[j.id, 'b']]);
  });
});

describe('freeCapacity', () => {
  it('sums free slots of endpoints serving the queue, less queued jobs they will take', () => {
    const endpoints = [
      endpoint('a', { slotsUsed: 1 }),
      endpoint('b'),
      endpoint('c', { queues: ['OTHER'] }),
    ];
    expect(freeCapacity('Q', endpoints, []).slots).toBe(7);
    expect(freeCapacity('Q', endpoints, [job({ cores: 2 })]).slots).toBe(5);
    expect(freeCapacity('Q', endpoints, [job({ queue: 'ELSEWHERE', cores: 2 })]).slots).toBe(7);
    expect(freeCapacity('Q', [endpoint('d', { draining: true })], []).slots).toBe(0);
    expect(freeCapacity('Q', [endpoint('a', { slotsUsed: 6 })], []).slots).toBe(0);
  });

  it('reports the most memory free on one endpoint, if any accounts memory', () => {
    expect(freeCapacity('Q', [endpoint('a')], []).memoryMb).toBeUndefined();
    const endpoints = [
      endpoint('a', { memoryMbTotal: 1000, memoryMbUsed: 200 }),
      endpoint('b', { memoryMbTotal: 500 }),
    ];
    expect(freeCapacity('Q', endpoints, []).memoryMb).toBe(800);
  });

  it('combines usage conservatively', () => {
    expect(combinedUsage(2, 3)).toBe(3);
    expect(combinedUsage(5, 3)).toBe(5);
  });
});

/** The scheduler as first written: every job against every endpoint. The reference for the fast one. */
function scheduleEveryPair(
  jobs: readonly QueuedJob[],
  endpoints: readonly EndpointView[],
  excluded: (jobId: string, endpointId: string) => boolean,
): Array<[string, string]> {
  const views = endpoints.map((e) => ({ ...e }));
  const out: Array<[string, string]> = [];
  for (const j of jobs) {
    let best: EndpointView | undefined;
    for (const e of views) {
      const fits =
        !e.draining &&
        e.queues.includes(j.queue) &&
        e.slotsTotal - e.slotsUsed >= j.cores &&
        (e.memoryMbTotal <= 0 || e.memoryMbTotal - e.memoryMbUsed >= j.memoryMb);
      if (!fits || excluded(j.id, e.endpointId)) continue;
      const load = (v: EndpointView) => (v.slotsUsed + j.cores) / Math.max(1, v.slotsTotal);
      const free = (v: EndpointView) => v.memoryMbTotal - v.memoryMbUsed;
      if (
        best === undefined ||
        load(e) < load(best) ||
        (load(e) === load(best) &&
          (free(e) > free(best) || (free(e) === free(best) && e.endpointId < best.endpointId)))
      )
        best = e;
    }
    if (best === undefined) continue;
    best.slotsUsed += j.cores;
    best.memoryMbUsed += j.memoryMb;
    out.push([j.id, best.endpointId]);
  }
  return out;
}

describe('schedule, against every job × endpoint pair', () => {
  it('places exactly as the exhaustive scan does, on random endpoints, jobs and exclusions', () => {
    let state = 12345;
    const random = () => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state / 2 ** 31;
    };
    const int = (n: number) => Math.floor(random() * n);
    const queues = ['Q', 'R', 'S'];
    for (let round = 0; round < 500; round++) {
      const endpoints = Array.from({ length: 1 + int(12) }, (_, i) => {
        const slotsTotal = int(9);
        const memoryMbTotal = [0, 1000, 4000][int(3)] as number;
        return endpoint(`e${int(100)}-${i}`, {
          queues: queues.filter(() => random() < 0.6),
          slotsTotal,
          slotsUsed: int(slotsTotal + 2),
          memoryMbTotal,
          memoryMbUsed: int(memoryMbTotal + 1),
          draining: random() < 0.1,
        });
      });
      const jobs = Array.from({ length: int(30) }, () =>
        job({ queue: queues[int(3)] as string, cores: int(4), memoryMb: int(3) * 500 }),
      );
      const rejected = new Set(
        jobs.flatMap((j) =>
          endpoints.filter(() => random() < 0.1).map((e) => `${j.id}/${e.endpointId}`),
        ),
      );
      const excluded = (j: string, e: string) => rejected.has(`${j}/${e}`);
      const given = endpoints.map((e) => ({ ...e }));
      expect(placed(jobs, endpoints, rejected.size > 0 ? excluded : undefined)).toEqual(
        scheduleEveryPair(jobs, endpoints, excluded),
      );
      expect(endpoints).toEqual(given); // the caller's views are not changed
    }
  });
});
