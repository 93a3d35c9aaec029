import { describe, expect, it } from 'vitest';
import { defineJob, NEW_JOB, type Replica } from '../../../sim/job-definition.js';
import { dispatcherJob } from '../../../sim/job-spec.js';
import { PyFloat } from '../../../sim/py-value.js';

const replicas: Record<string, Replica> = {
  'user.t:a.dat': {
    scope: 'user.t',
    lfn: 'a.dat',
    guid: 'ga',
    fsize: 11,
    adler32: '0000000a',
    dataset: 'user.t.in',
  },
  'user.t:b.dat': {
    scope: 'user.t',
    lfn: 'b.dat',
    guid: 'gb',
    fsize: 22,
    adler32: '0000000b',
    dataset: 'user.t.in',
  },
};

function define(raw: Record<string, unknown>) {
  return defineJob(NEW_JOB.parse({ site: 'Q', jobPars: '-p x', ...raw }), {
    pandaId: 6100000001,
    taskId: 42,
    baseUrl: 'http://sim:1',
    findReplica: (s, l) => replicas[`${s}:${l}`],
  });
}

// The keys of Protocol.py::Response.appendJob for a plain user job, in order, plus nSent.
const KEYS = [
  'StatusCode',
  'PandaID',
  'prodSourceLabel',
  'swRelease',
  'homepackage',
  'transformation',
  'jobName',
  'jobDefinitionID',
  'cloud',
  'inFiles',
  'dispatchDblock',
  'dispatchDBlockToken',
  'dispatchDBlockTokenForOut',
  'outFiles',
  'destinationDblock',
  'destinationDBlockToken',
  'prodDBlocks',
  'prodDBlockToken',
  'realDatasets',
  'realDatasetsIn',
  'fileDestinationSE',
  'logFile',
  'logGUID',
  'jobPars',
  'attemptNr',
  'GUID',
  'checksum',
  'fsize',
  'scopeIn',
  'scopeOut',
  'scopeLog',
  'ddmEndPointIn',
  'ddmEndPointOut',
  'destinationSE',
  'prodUserID',
  'maxCpuCount',
  'minRamCount',
  'maxDiskCount',
  'cmtConfig',
  'processingType',
  'transferType',
  'sourceSite',
  'currentPriority',
  'taskID',
  'coreCount',
  'jobsetID',
  'reqID',
  'nucleus',
  'maxWalltime',
  'resource_type',
  'ioIntensity',
  'ioIntensityUnit',
  'nSent',
];

describe('dispatcherJob (acquire_jobs job dict)', () => {
  it('has exactly the dispatcher key set with parallel comma-joined file lists', () => {
    const def = define({
      inputs: [
        { scope: 'user.t', lfn: 'a.dat' },
        { scope: 'user.t', lfn: 'b.dat' },
      ],
      outputs: [
        { lfn: 'o1.dat', scope: 'user.o', dataset: 'user.o.ds/' },
        { lfn: 'o2.dat', scope: 'user.o', dataset: 'user.o.ds/' },
      ],
      log: { lfn: 'x.log.tgz', scope: 'user.l' },
      coreCount: 4,
      minRamCount: 1800,
      maxWalltime: 345600,
    });
    const job = dispatcherJob(def, 1, 3);
    expect([...job.keys()]).toEqual(KEYS);
    expect(job.get('PandaID')).toBe(6100000001);
    expect(job.get('inFiles')).toBe('a.dat,b.dat');
    expect(job.get('GUID')).toBe('ga,gb');
    expect(job.get('fsize')).toBe('11,22');
    expect(job.get('checksum')).toBe('ad:0000000a,ad:0000000b');
    expect(job.get('scopeIn')).toBe('user.t,user.t');
    expect(job.get('realDatasetsIn')).toBe('user.t.in,user.t.in');
    expect(job.get('outFiles')).toBe('o1.dat,o2.dat,x.log.tgz');
    expect(job.get('scopeOut')).toBe('user.o,user.o'); // the log is not in scopeOut
    expect(job.get('scopeLog')).toBe('user.l');
    expect(job.get('realDatasets')).toBe('user.o.ds/,user.o.ds/,user.l.sim_task42.log/');
    expect(job.get('logFile')).toBe('x.log.tgz');
    expect(job.get('logGUID')).toMatch(/^[0-9a-f-]{36}$/);
    expect(job.get('transformation')).toBe('http://sim:1/trf/user/runGen-00-00-02');
    expect(job.get('resource_type')).toBe('MCORE');
    expect([
      job.get('coreCount'),
      job.get('minRamCount'),
      job.get('maxWalltime'),
      job.get('nSent'),
    ]).toEqual([4, 1800, 345600, 3]);
    expect(job.get('swRelease')).toBe('NULL');
  });

  it('writes empty lists for a job without inputs and a default log LFN', () => {
    const job = dispatcherJob(define({}), 2, 0);
    expect(job.get('inFiles')).toBe('');
    expect(job.get('GUID')).toBe('');
    expect(job.get('logFile')).toBe('user.sim.42.6100000001.log.tgz');
    expect(job.get('outFiles')).toBe('user.sim.42.6100000001.log.tgz');
    expect(job.get('attemptNr')).toBe(2);
  });

  it('lets malformed-input tests override keys verbatim', () => {
    const job = dispatcherJob(define({ extra: { PandaID: 'not-an-int', newKey: 1.5 } }), 1, 0);
    expect(job.get('PandaID')).toBe('not-an-int');
    expect(job.get('newKey')).toEqual(new PyFloat(1.5));
  });

  it('refuses inputs that are not registered replicas and duplicate output LFNs', () => {
    expect(() => define({ inputs: [{ scope: 'user.t', lfn: 'nope.dat' }] })).toThrow(
      /not a registered replica/,
    );
    expect(() => define({ outputs: [{ lfn: 'x.log.tgz' }], log: { lfn: 'x.log.tgz' } })).toThrow(
      /appears twice/,
    );
  });
});
