import { describe, expect, it } from 'vitest';
import { type OutcomeFacts, outcomeProblems } from '../../../../cli/demo/expectations.js';

const good: Record<string, OutcomeFacts> = {
  train: {
    pandaId: 1,
    role: 'train',
    label: 'train',
    state: 'finished',
    failureCode: undefined,
    returnValueJson: '{"showers": 80, "epochs": 8, "final_loss": 0.01}',
    outputs: [
      { lfn: 'x.model.json', adler32: '0a0b0c0d' },
      { lfn: 'x.metrics.txt', adler32: '01020304' },
    ],
    pandaStatus: 'finished',
    pilotErrorCode: null,
    pandaChecksums: new Map([
      ['x.model.json', '0a0b0c0d'],
      ['x.metrics.txt', '01020304'],
    ]),
  },
  long: {
    pandaId: 2,
    role: 'long',
    label: 'long',
    state: 'failed',
    failureCode: 'KILLED_BY_PANDA',
    returnValueJson: '',
    outputs: [],
    pandaStatus: 'cancelled',
    pilotErrorCode: 1144,
    pandaChecksums: new Map(),
  },
  failing: {
    pandaId: 3,
    role: 'failing',
    label: 'failing',
    state: 'failed',
    failureCode: 'NONZERO_EXIT',
    returnValueJson: '',
    outputs: [],
    pandaStatus: 'failed',
    pilotErrorCode: 1305,
    pandaChecksums: new Map(),
  },
};

describe('demo expectations', () => {
  it('accept each job ending as the demo intends', () => {
    for (const facts of Object.values(good)) expect(outcomeProblems(facts)).toEqual([]);
  });

  it('name a wrong final state on either side and a wrong kill code', () => {
    const long = good.long as OutcomeFacts;
    expect(outcomeProblems({ ...long, state: 'finished', failureCode: undefined })).toEqual([
      'job 2 (long): finished in the control plane, expected failed',
      'job 2 (long): failure none, expected KILLED_BY_PANDA',
    ]);
    expect(outcomeProblems({ ...long, pilotErrorCode: 1205, pandaStatus: 'failed' })).toEqual([
      'job 2 (long): failed in PanDA, expected cancelled',
      'job 2 (long): PanDA has pilot error 1205, expected 1144',
    ]);
  });

  it('catch an output whose adler32 PanDA was not told', () => {
    const train = good.train as OutcomeFacts;
    const problems = outcomeProblems({
      ...train,
      pandaChecksums: new Map([['x.model.json', 'ffffffff']]),
    });
    expect(problems).toEqual([
      'job 1 (train): output x.model.json has adler32 0a0b0c0d but PanDA was told ffffffff',
      'job 1 (train): output x.metrics.txt has adler32 01020304 but PanDA was told nothing',
    ]);
  });
});
