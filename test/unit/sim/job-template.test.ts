import { describe, expect, it } from 'vitest';
import { buildJobPars, outputLfn, transformationUrl } from '../../../sim/job-template.js';

describe('buildJobPars (prun --noBuild template)', () => {
  it('matches the shape of the reference example, with Python literals and quoted exec', () => {
    const pars = buildJobPars({
      sourceUrl: 'https://aipanda048.cern.ch',
      archive: 'jobO.1234.tar.gz',
      outputs: [
        ['out.dat', 'user.x.33455917._000001.out.dat'],
        ['output.tar.gz', 'user.x.33455917._000001.output.tar.gz'],
      ],
      inputs: ['user.x.in1.root'],
      exec: '{"func_name": "main1", "kwargs": {"input_file": "%IN"}}',
    });
    expect(pars).toBe(
      '-j "" --sourceURL https://aipanda048.cern.ch -r . -a jobO.1234.tar.gz ' +
        `-o "{'out.dat': 'user.x.33455917._000001.out.dat', 'output.tar.gz': 'user.x.33455917._000001.output.tar.gz'}" ` +
        `-i "['user.x.in1.root']" ` +
        '-p "%7B%22func_name%22%3A%20%22main1%22%2C%20%22kwargs%22%3A%20%7B%22input_file%22%3A%20%22%25IN%22%7D%7D"',
    );
  });

  it('leaves out -i without inputs and quotes a shell command', () => {
    expect(
      buildJobPars({ sourceUrl: 'http://h:1', archive: 'a.tgz', outputs: [], exec: 'echo %IN' }),
    ).toBe('-j "" --sourceURL http://h:1 -r . -a a.tgz -o "{}" -p "echo%20%25IN"');
  });

  it('refuses names that would break the quoted words', () => {
    const base = { sourceUrl: 'http://h', archive: 'a.tgz', exec: 'x' };
    expect(() => buildJobPars({ ...base, outputs: [["it's", 'l']] })).toThrow(/output name/);
    expect(() => buildJobPars({ ...base, outputs: [['o', 'a b']] })).toThrow(/output LFN/);
    expect(() => buildJobPars({ ...base, outputs: [['o', 'x']], inputs: ['a"b'] })).toThrow(
      /input LFN/,
    );
    expect(() =>
      buildJobPars({
        ...base,
        outputs: [
          ['o', 'x'],
          ['o', 'y'],
        ],
      }),
    ).toThrow(/listed twice/);
  });

  it('names outputs like prun and points at runGen', () => {
    expect(outputLfn('user.pgc.ab12', 7, 'out.dat')).toBe('user.pgc.ab12._000007.out.dat');
    expect(transformationUrl('http://127.0.0.1:25080/')).toBe(
      'http://127.0.0.1:25080/trf/user/runGen-00-00-02',
    );
  });
});
