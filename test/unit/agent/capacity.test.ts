import { describe, expect, it } from 'vitest';
import { capacityOf, refusal } from '../../../agent/capacity.js';
import { JobSpec } from '../../../shared/gen/pgc/v1/job.js';

const spec = (cores: number, memoryMb = 0): JobSpec =>
  JobSpec.fromPartial({ key: { pandaId: 1, attemptNr: 1 }, limits: { cores, memoryMb } });

describe('agent capacity', () => {
  it('counts slots by cores and memory by memoryMb of the jobs that have not ended', () => {
    expect(capacityOf({ slots: 8, memoryMb: 4000 }, [spec(2, 1000), spec(1)], false)).toEqual({
      slotsTotal: 8,
      slotsUsed: 3,
      memoryMbTotal: 4000,
      memoryMbUsed: 1000,
      draining: false,
    });
  });

  it('admits what fits and says why not otherwise', () => {
    const c = capacityOf({ slots: 4, memoryMb: 2000 }, [spec(3, 1500)], false);
    expect(refusal(c, spec(1, 500))).toBeUndefined();
    expect(refusal(c, spec(2))).toBe('needs 2 slot(s), 1 of 4 free');
    expect(refusal(c, spec(1, 600))).toBe('needs 600 MB, 500 of 2000 MB free');
    expect(refusal(capacityOf({ slots: 4, memoryMb: 2000 }, [], true), spec(1))).toBe(
      'the endpoint is draining',
    );
  });

  it('treats a job without limits as one slot and no reserved memory', () => {
    const c = capacityOf({ slots: 1, memoryMb: 0 }, [], false);
    expect(refusal(c, JobSpec.fromPartial({ key: { pandaId: 1, attemptNr: 1 } }))).toBeUndefined();
  });
});
