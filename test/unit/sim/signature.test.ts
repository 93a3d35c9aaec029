import { describe, expect, it } from 'vitest';
import { API_METHODS, findApiMethod, UPDATE_JOB_PARAMS } from '../../../sim/api-signatures.js';
import { type PyDict, PyFloat, type PyValue } from '../../../sim/py-value.js';
import { bindArguments, castQueryValue } from '../../../sim/signature.js';

const dict = (entries: Record<string, PyValue>): PyDict => new Map(Object.entries(entries));
const acquire = findApiMethod('pilot', 'acquire_jobs');
const kill = findApiMethod('job', 'kill');
const update = { name: 'update_job', params: UPDATE_JOB_PARAMS };

describe('bindArguments (Python call binding + request_validation)', () => {
  it('reports an unknown keyword like CPython, before a missing argument', () => {
    if (acquire === undefined) throw new Error('acquire_jobs not registered');
    expect(bindArguments(acquire, dict({ resourceType: 'SCORE' }), false)).toEqual({
      ok: false,
      message: "Argument error: acquire_jobs() got an unexpected keyword argument 'resourceType'",
    });
    expect(bindArguments(acquire, dict({}), false)).toEqual({
      ok: false,
      message: "Argument error: acquire_jobs() missing 1 required positional argument: 'site_name'",
    });
  });

  it('lists several missing arguments in CPython wording', () => {
    const three = {
      name: 'f',
      params: [
        { name: 'a', type: 'int' as const },
        { name: 'b', type: 'int' as const },
        { name: 'c', type: 'int' as const },
      ],
    };
    expect(
      bindArguments({ ...three, params: three.params.slice(0, 2) }, dict({}), false),
    ).toMatchObject({
      message: "Argument error: f() missing 2 required positional arguments: 'a' and 'b'",
    });
    expect(bindArguments(three, dict({}), false)).toMatchObject({
      message: "Argument error: f() missing 3 required positional arguments: 'a', 'b', and 'c'",
    });
  });

  it('checks JSON types with isinstance and never casts POST values', () => {
    expect(
      bindArguments(update, dict({ job_id: '123', job_status: 'running' }), false),
    ).toMatchObject({
      message: "Type error: 'job_id' must be of type int, got str.",
    });
    expect(
      bindArguments(update, dict({ job_id: new PyFloat(1), job_status: 'running' }), false),
    ).toMatchObject({
      message: "Type error: 'job_id' must be of type int, got float.",
    });
    expect(bindArguments(update, dict({ job_id: 1, job_status: null }), false)).toMatchObject({
      message: "Type error: 'job_status' must be of type str, got NoneType.",
    });
    // cpu_conversion_factor is a Python float: a JSON 1 (an int) is refused, 1.0 passes.
    expect(
      bindArguments(
        update,
        dict({ job_id: 1, job_status: 'running', cpu_conversion_factor: 1 }),
        false,
      ),
    ).toMatchObject({
      message: "Type error: 'cpu_conversion_factor' must be of type float, got int.",
    });
    expect(
      bindArguments(
        update,
        dict({ job_id: 1, job_status: 'running', cpu_conversion_factor: new PyFloat(1) }),
        false,
      ).ok,
    ).toBe(true);
    // bool is an int in Python.
    expect(
      bindArguments(update, dict({ job_id: 1, job_status: 'running', attempt_nr: true }), false).ok,
    ).toBe(true);
  });

  it('skips the check for values equal to the default (request_validation quirk)', () => {
    if (acquire === undefined) throw new Error('acquire_jobs not registered');
    // memory defaults to None, so an explicit null is not type-checked; timeout's default is 60.
    expect(bindArguments(acquire, dict({ site_name: 'Q', memory: null }), false).ok).toBe(true);
    expect(
      bindArguments(acquire, dict({ site_name: 'Q', timeout: new PyFloat(60) }), false).ok,
    ).toBe(true);
    expect(bindArguments(acquire, dict({ site_name: 'Q', timeout: null }), false)).toMatchObject({
      message: "Type error: 'timeout' must be of type int, got NoneType.",
    });
  });

  it('checks list element types', () => {
    if (kill === undefined) throw new Error('kill not registered');
    expect(bindArguments(kill, dict({ job_ids: [1, '2'] }), false)).toMatchObject({
      message: "Type error: All elements in 'job_ids' must be int.",
    });
    expect(bindArguments(kill, dict({ job_ids: 5 }), false)).toMatchObject({
      message: "Type error: 'job_ids' must be of type list, got int.",
    });
    expect(
      bindArguments(kill, dict({ job_ids: [1], kill_options: ['jobSubStatus=x'] }), false).ok,
    ).toBe(true);
  });

  it('casts GET query values by the type hint', () => {
    const getStatus = findApiMethod('job', 'get_status');
    if (getStatus === undefined) throw new Error('get_status not registered');
    const bound = bindArguments(getStatus, dict({ job_ids: ['1', '2'], timeout: '30' }), true);
    expect(bound).toEqual({
      ok: true,
      args: new Map<string, PyValue>([
        ['job_ids', [1, 2]],
        ['timeout', 30],
      ]),
    });
    expect(bindArguments(getStatus, dict({ job_ids: '7' }), true)).toMatchObject({ ok: true });
    expect(bindArguments(getStatus, dict({ job_ids: ['1', 'x'] }), true)).toMatchObject({
      message: "Type error: 'job_ids' could not be casted to type List.",
    });
    expect(castQueryValue('int', '2.9')).toBe(2);
    expect(castQueryValue('bool', 'TRUE')).toBe(true);
    expect(castQueryValue('bool', 'no')).toBe(false);
    expect(castQueryValue('int', ['1', '2'])).toBeUndefined();
  });

  it('declares every parameter of update_job in reference §2.1', () => {
    const names = UPDATE_JOB_PARAMS.map((p) => p.name);
    for (const n of [
      'job_id',
      'job_status',
      'attempt_nr',
      'job_output_report',
      'meta_data',
      'pilot_error_code',
      'pilot_error_diag',
      'exe_error_code',
      'exe_error_diag',
      'trans_exit_code',
      'job_sub_status',
      'core_count',
      'batch_id',
      'start_time',
      'end_time',
      'max_rss',
      'tot_rbytes',
      'rate_wchar',
      'cpu_architecture_level',
      'grid',
      'source_site',
      'destination_site',
      'timeout',
    ]) {
      expect(names).toContain(n);
    }
    expect(API_METHODS.map((m) => `${m.module}/${m.name}`).sort()).toEqual([
      'file_server/upload_cache_file',
      'job/get_status',
      'job/kill',
      'job/set_command',
      'pilot/acquire_jobs',
      'pilot/get_job_status',
      'pilot/update_job',
      'pilot/update_jobs_bulk',
      'system/is_alive',
    ]);
  });
});
