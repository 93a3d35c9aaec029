import { describe, expect, it } from 'vitest';
import { checkSpecFiles } from '../../../../agent/runner/spec-files.js';
import { outputPath } from '../../../../agent/runner/stage-out.js';
import { ValidationError } from '../../../../shared/errors.js';
import type { JobSpec } from '../../../../shared/gen/pgc/v1/job.js';

const spec = (overrides: Partial<JobSpec>): JobSpec => ({
  key: { pandaId: 1, attemptNr: 1 },
  queue: 'Q',
  payload: { $case: 'command', command: { command: 'true' } },
  sandbox: undefined,
  inputs: [],
  outputs: [],
  log: undefined,
  limits: undefined,
  env: {},
  taskId: 0,
  jobName: '',
  runDir: '',
  ...overrides,
});

const output = (localName: string, lfn: string, scope: string) => ({
  localName,
  lfn,
  scope,
  dataset: '',
  guid: '',
});

describe('output paths', () => {
  it('places an output at <outputsDir>/<scope>/<lfn>, or directly without a scope', () => {
    expect(outputPath('/data/out', 'user.t', 'user.t.f.root')).toBe(
      '/data/out/user.t/user.t.f.root',
    );
    expect(outputPath('/data/out/', '', 'f.root')).toBe('/data/out/f.root');
  });

  it('refuses any scope or LFN that is not one safe file name', () => {
    for (const [scope, lfn] of [
      ['..', 'f'],
      ['../../etc', 'f'],
      ['user.t', '../f'],
      ['user.t', 'a/b'],
      ['user.t', '.hidden'],
      ['user.t', ''],
      ['/abs', 'f'],
      ['user.t', '-rf'],
    ] as const) {
      expect(() => outputPath('/data/out', scope, lfn), `${scope}/${lfn}`).toThrow(ValidationError);
    }
  });
});

describe('job spec file names', () => {
  it('accepts the names PanDA and Rucio use', () => {
    expect(() =>
      checkSpecFiles(
        spec({
          outputs: [output('out.dat', 'user.me.123._000001.out.dat', 'user.me')],
          log: { lfn: 'user.me.123._000001.log.tgz', guid: 'g', scope: 'user.me' },
        }),
      ),
    ).not.toThrow();
  });

  it('names the first unsafe name: output name, scope, LFN, log LFN or input', () => {
    expect(() => checkSpecFiles(spec({ outputs: [output('sub/out.dat', 'x', '')] }))).toThrow(
      /output name "sub\/out.dat"/,
    );
    expect(() => checkSpecFiles(spec({ outputs: [output('o', 'x', '../s')] }))).toThrow(
      /output scope/,
    );
    expect(() => checkSpecFiles(spec({ log: { lfn: '../log.tgz', guid: '', scope: '' } }))).toThrow(
      /log LFN/,
    );
    expect(() =>
      checkSpecFiles(
        spec({
          inputs: [
            {
              lfn: '../../in',
              scope: '',
              guid: '',
              sizeBytes: 0,
              checksum: '',
              urls: [],
              dataset: '',
            },
          ],
        }),
      ),
    ).toThrow(/input LFN/);
  });
});
