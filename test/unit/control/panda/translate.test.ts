import { describe, expect, it } from 'vitest';
import { pythonUnquote } from '../../../../control/panda/rungen-args.js';
import { TranslationError, translatePandaJob } from '../../../../control/panda/translate.js';
import { FailureCode } from '../../../../shared/errors.js';
import {
  EXEC_MAIN1,
  EXEC_TEST_PARSL,
  JOB_MAIN1,
  JOB_TEST_PARSL,
} from '../../../fixtures/panda/jobs-2023.js';

let counter = 0;
const options = {
  queue: 'BNL_Funcx_Test',
  inputUrlTemplates: ['http://127.0.0.1:25080/sim/files/{scope}/{lfn}'],
  newGuid: () => `guid-${++counter}`,
};

function translationError(job: Record<string, unknown>): TranslationError {
  try {
    translatePandaJob(job, options);
  } catch (err) {
    if (err instanceof TranslationError) return err;
    throw err;
  }
  throw new Error('expected a TranslationError');
}

describe('translatePandaJob — the 2023 integration tasks', () => {
  it('turns test_parsl into a function payload with its sandbox, output and log', () => {
    counter = 0;
    const spec = translatePandaJob(JOB_TEST_PARSL, options);
    expect(spec.key).toEqual({ pandaId: 5_000_000_101, attemptNr: 1 });
    expect(spec.payload).toEqual({
      $case: 'function',
      function: {
        funcName: 'test_parsl',
        preScript: 'from test_parsl_funcx1 import test_parsl',
        argsJson: '[]',
        kwargsJson: '{}',
      },
    });
    expect(spec.sandbox).toEqual({
      url: 'https://aipanda048.cern.ch/cache/jobO.0c3e1f2a-1111-2222-3333-444455556666.tar.gz',
      sha256: '',
    });
    expect(spec.inputs).toEqual([]);
    expect(spec.outputs).toEqual([
      {
        localName: 'out.dat',
        lfn: 'user.wguan.33455917._000001.out.dat',
        scope: 'user.wguan',
        dataset: 'user.wguan.a1b2c3d4_out.dat/',
        guid: 'guid-1',
      },
    ]);
    expect(spec.log).toEqual({
      lfn: 'user.wguan.a1b2c3d4.log.33455917.000001.log.tgz',
      guid: '8d5c0f1e-0000-4000-8000-00000000a001',
      scope: 'user.wguan',
    });
    expect(spec.limits).toEqual({ cores: 1, memoryMb: 1800, walltimeS: 345600, killGraceMs: 0 });
    expect(spec.taskId).toBe(33455917);
    expect(spec.runDir).toBe('');
    expect(spec.queue).toBe('BNL_Funcx_Test');
    expect(JSON.parse(EXEC_TEST_PARSL).func_name).toBe('test_parsl');
  });

  it('turns main1 into a function payload with %IN resolved to the input and both outputs mapped', () => {
    const spec = translatePandaJob(JOB_MAIN1, options);
    expect(spec.key).toEqual({ pandaId: 5_000_000_202, attemptNr: 2 });
    const fn = spec.payload?.$case === 'function' ? spec.payload.function : undefined;
    expect(fn?.funcName).toBe('main1');
    expect(fn?.preScript).toBe('from training.train1 import main1');
    expect(JSON.parse(fn?.kwargsJson ?? '')).toEqual({
      input_file: 'dataset_1_photons.hdf5',
      output_file: 'output.tar.gz',
      example_run: true,
    });
    expect(JSON.parse(EXEC_MAIN1).kwargs.input_file).toBe('%IN');
    expect(spec.inputs).toEqual([
      {
        lfn: 'dataset_1_photons.hdf5',
        scope: 'user.czhang',
        guid: 'aa6c4b7e-0000-4000-8000-00000000b001',
        sizeBytes: 104857600,
        checksum: 'ad:0badc0de',
        urls: ['http://127.0.0.1:25080/sim/files/user.czhang/dataset_1_photons.hdf5'],
        dataset: 'user.czhang.calochallenge.photons',
      },
    ]);
    expect(spec.outputs.map((o) => [o.localName, o.lfn, o.scope])).toEqual([
      ['out.dat', 'user.czhang.33455999._000001.out.dat', 'user.czhang'],
      ['output.tar.gz', 'user.czhang.33455999._000001.output.tar.gz', 'user.czhang'],
    ]);
    expect(spec.log?.lfn).toBe('user.czhang.train.log.33455999.000001.log.tgz');
    expect(spec.env).toEqual({
      PandaID: '5000000202',
      PanDA_AttemptNr: '2',
      PanDA_TaskID: '33455999',
    });
  });
});

describe('translatePandaJob — commands and PanDA quirks', () => {
  it('makes a command payload of a non-JSON exec, %IN comma-joined', () => {
    const job = {
      ...JOB_MAIN1,
      inFiles: 'a.dat,b.dat',
      GUID: 'g1,g2',
      fsize: '1,2',
      checksum: 'ad:00000001,NULL',
      scopeIn: 'user.x,user.x',
      realDatasetsIn: 'ds,ds',
      jobPars:
        '-j "" --sourceURL https://c -r sub/dir -a jobO.1.tar.gz -o "{}" -p "python3%20run.py%20--in%20%25IN"',
    };
    const spec = translatePandaJob(job, options);
    expect(spec.payload).toEqual({
      $case: 'command',
      command: { command: 'python3 run.py --in a.dat,b.dat' },
    });
    expect(spec.inputs.map((i) => i.checksum)).toEqual(['ad:00000001', '']);
    expect(spec.runDir).toBe('sub/dir');
    // Outputs not named in -o keep their LFN as local name.
    expect(spec.outputs.map((o) => o.localName)).toEqual([
      'user.czhang.33455999._000001.out.dat',
      'user.czhang.33455999._000001.output.tar.gz',
    ]);
  });

  it('runs without a sandbox when there is no -a, and reads NULL as unset', () => {
    const spec = translatePandaJob(
      {
        ...JOB_TEST_PARSL,
        jobPars: '-p "echo%20hi"',
        coreCount: 'NULL',
        minRamCount: 'NULL',
        logGUID: 'NULL',
      },
      options,
    );
    expect(spec.sandbox).toBeUndefined();
    expect(spec.limits?.cores).toBe(1);
    expect(spec.limits?.memoryMb).toBe(0);
    expect(spec.log?.guid).toMatch(/^guid-/);
  });

  it('decodes -p exactly like urllib.parse.unquote', () => {
    expect(pythonUnquote('%7B%22a%22%3A%20%22%25IN%22%7D+x%zz%C3%BC')).toBe('{"a": "%IN"}+x%zzü');
  });
});

describe('translatePandaJob — malformed jobs fail with distinct, clear diagnostics', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    [
      'bad JSON in -p',
      { jobPars: '--sourceURL https://c -a a.tgz -p "%7B%22func_name%22%3A"' },
      /-p looks like --exec JSON but does not parse/,
    ],
    [
      'unbalanced quotes',
      { jobPars: '--sourceURL https://c -p "abc' },
      /jobPars cannot be split into arguments: unbalanced double quote/,
    ],
    [
      'an unknown option',
      { jobPars: '--sourceURL https://c --frobnicate 1 -p "x"' },
      /unknown option --frobnicate/,
    ],
    [
      'an option panda-gc does not implement',
      { jobPars: '--sourceURL https://c -l lib.tgz -p "x"' },
      /build jobs \(-l library\) are not supported/,
    ],
    ['a missing sourceURL', { jobPars: '-a jobO.1.tar.gz -p "x"' }, /has -a but no --sourceURL/],
    [
      'a 10 MB parameter blob',
      { jobPars: `-p "${'x'.repeat(10 * 1024 * 1024)}"` },
      /jobPars is 10485765 bytes, more than the 262144 allowed/,
    ],
    ['non-UTF-8 jobPars', { jobPars: '-p "caf\uFFFD"' }, /jobPars is not valid UTF-8/],
    [
      'non-UTF-8 after URL-decoding',
      { jobPars: '-p "caf%FF"' },
      /-p is not valid UTF-8 after URL-decoding/,
    ],
    [
      'an unknown --exec key',
      { jobPars: '-p "%7B%22func_name%22%3A%22f%22%2C%22x%22%3A1%7D"' },
      /unknown key 'x'/,
    ],
    [
      'a func_name that is not an identifier',
      { jobPars: '-p "%7B%22func_name%22%3A%22os.system%22%7D"' },
      /func_name must be a Python identifier/,
    ],
    ['a missing -p', { jobPars: '--sourceURL https://c -a a.tgz' }, /has no -p/],
    [
      'misaligned file lists',
      { inFiles: 'a,b', GUID: 'g1' },
      /GUID has 1 entries but inFiles has 2/,
    ],
    [
      'a file name that is a path',
      { inFiles: '../etc/passwd', GUID: 'g', jobPars: '-p "x"' },
      /input LFN "..\/etc\/passwd" is not a safe file name/,
    ],
    [
      'job parameters too large to dispatch',
      {
        inFiles: Array.from({ length: 6000 }, (_, i) => `in${i}.${'x'.repeat(200)}`).join(','),
        GUID: Array.from({ length: 6000 }, (_, i) => `g${i}`).join(','),
      },
      /its job parameters take \d+ bytes, over the 1048576 allowed/,
    ],
    [
      'an output scope that is a path',
      { scopeOut: '../../etc' },
      /output scope "..\/..\/etc" is not a safe file name/,
    ],
    [
      'a log scope that is a path',
      { scopeLog: 'user/../../x' },
      /log scope "user\/..\/..\/x" is not a safe file name/,
    ],
    [
      'an -o LFN that is not an output',
      { jobPars: `-o "{'o': 'nope'}" -p "x"` },
      /-o maps o to nope, which is not among the job's outFiles/,
    ],
    [
      'a bad -o literal',
      { jobPars: `-o "{'o': __import__('os')}" -p "x"` },
      /-o is not a Python dict literal/,
    ],
    [
      'a transformation that is not runGen',
      { transformation: 'http://h/trf/user/runAthena-00-00-12' },
      /transformation .* is not supported/,
    ],
    ['no PandaID', { PandaID: 'NULL' }, /PandaID is missing/],
    [
      '%IN without inputs',
      { jobPars: '-p "cat%20%25IN"' },
      /uses %IN but the job has no input files/,
    ],
  ];

  it.each(cases)('%s', (_name, overrides, message) => {
    const err = translationError({ ...JOB_TEST_PARSL, ...overrides });
    expect(err.code).toBe(FailureCode.BAD_JOB);
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(/^cannot run PanDA job /);
  });

  it('keeps the job id and attempt so the job can be failed towards PanDA', () => {
    const err = translationError({ ...JOB_MAIN1, jobPars: '-p "abc' });
    expect([err.pandaId, err.attemptNr]).toEqual([5_000_000_202, 2]);
  });

  it('gives each malformed case its own message', () => {
    const messages = cases.map(([, overrides]) =>
      translationError({ ...JOB_TEST_PARSL, ...overrides }).message.replace(/\d+/g, 'N'),
    );
    expect(new Set(messages).size).toBe(cases.length);
  });
});
