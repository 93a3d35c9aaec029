/**
 * The v1 methods the simulator serves, with their Python signatures (srv api/v1/pilot_api.py,
 * job_api.py, file_server_api.py, system_api.py) and the checks of their request_validation
 * decorator: HTTPS/credentials required (`secure`) and the expected HTTP method.
 */
import type { ParamSpec, PyType, Signature } from './signature.js';

export interface ApiMethod extends Signature {
  readonly module: string;
  /** request_validation(request_method=...); job/get_status also takes POST (see below). */
  readonly httpMethods: readonly ('GET' | 'POST')[];
  /** request_validation(secure=True): without credentials, "SSL secure connection is required". */
  readonly secure: boolean;
}

const required = (name: string, type: PyType): ParamSpec => ({ name, type });
const optional = (name: string, type: PyType, def: ParamSpec['default'] = null): ParamSpec => ({
  name,
  type,
  default: def,
});

/** acquire_jobs: reference §1.1; only site_name is required. */
const ACQUIRE_JOBS: readonly ParamSpec[] = [
  required('site_name', 'str'),
  optional('timeout', 'int', 60),
  optional('memory', 'int'),
  optional('disk_space', 'int'),
  optional('prod_source_label', 'str'),
  optional('node', 'str'),
  optional('computing_element', 'str'),
  optional('prod_user_id', 'str'),
  optional('get_proxy_key', 'str'),
  optional('task_id', 'int'),
  optional('n_jobs', 'int', 1),
  optional('background', 'bool'),
  optional('resource_type', 'str'),
  optional('harvester_id', 'str'),
  optional('worker_id', 'int'),
  optional('scheduler_id', 'str'),
  optional('job_type', 'str'),
  optional('via_topic', 'bool'),
  // Untyped in the server's signature: any JSON value passes.
  optional('remaining_time', 'any'),
];

const MEMORY_METRICS = [
  'max_rss',
  'max_vmem',
  'max_swap',
  'max_pss',
  'avg_rss',
  'avg_vmem',
  'avg_swap',
  'avg_pss',
  'tot_rchar',
  'tot_wchar',
  'tot_rbytes',
  'tot_wbytes',
  'rate_rchar',
  'rate_wchar',
  'rate_rbytes',
  'rate_wbytes',
];

/** update_job: reference §2.1, in the server's parameter order. */
export const UPDATE_JOB_PARAMS: readonly ParamSpec[] = [
  required('job_id', 'int'),
  required('job_status', 'str'),
  optional('job_output_report', 'str', ''),
  optional('node', 'str'),
  optional('cpu_consumption_time', 'int'),
  optional('cpu_consumption_unit', 'str'),
  optional('scheduler_id', 'str'),
  optional('pilot_id', 'str'),
  optional('site_name', 'str'),
  optional('pilot_log', 'str', ''),
  optional('meta_data', 'str', ''),
  // `float` in Python: a JSON `1` (an int) is refused, `1.0` is accepted.
  optional('cpu_conversion_factor', 'float'),
  optional('trans_exit_code', 'int'),
  optional('pilot_error_code', 'int'),
  optional('pilot_error_diag', 'str'),
  optional('exe_error_code', 'int'),
  optional('exe_error_diag', 'str'),
  optional('pilot_timing', 'str'),
  optional('start_time', 'str'),
  optional('end_time', 'str'),
  optional('n_events', 'int'),
  optional('n_input_files', 'int'),
  optional('batch_id', 'str'),
  optional('attempt_nr', 'int'),
  optional('job_metrics', 'str'),
  optional('stdout', 'str', ''),
  optional('job_sub_status', 'str'),
  optional('core_count', 'int'),
  ...MEMORY_METRICS.map((name) => optional(name, 'number')),
  optional('corrupted_files', 'str'),
  optional('mean_core_count', 'int'),
  optional('cpu_architecture_level', 'str'),
  optional('grid', 'str'),
  optional('source_site', 'str'),
  optional('destination_site', 'str'),
  optional('timeout', 'int', 60),
];

export const API_METHODS: readonly ApiMethod[] = [
  {
    module: 'pilot',
    name: 'acquire_jobs',
    httpMethods: ['POST'],
    secure: true,
    params: ACQUIRE_JOBS,
  },
  {
    module: 'pilot',
    name: 'update_job',
    httpMethods: ['POST'],
    secure: true,
    params: UPDATE_JOB_PARAMS,
  },
  {
    module: 'pilot',
    name: 'update_jobs_bulk',
    httpMethods: ['POST'],
    secure: true,
    params: [required('job_list', 'list'), optional('harvester_id', 'str')],
  },
  {
    module: 'pilot',
    name: 'get_job_status',
    httpMethods: ['GET'],
    secure: true,
    params: [required('job_ids', 'List[int]'), optional('timeout', 'int', 60)],
  },
  {
    module: 'job',
    name: 'get_status',
    // The server declares GET; the project brief asks the simulator to take POST JSON as well.
    httpMethods: ['GET', 'POST'],
    secure: true,
    params: [required('job_ids', 'List[int]'), optional('timeout', 'int', 60)],
  },
  {
    module: 'job',
    name: 'kill',
    httpMethods: ['POST'],
    secure: true,
    params: [
      required('job_ids', 'List[int]'),
      optional('code', 'int'),
      optional('use_email_as_id', 'bool', false),
      optional('kill_options', 'List[str]', []),
    ],
  },
  {
    module: 'job',
    name: 'set_command',
    httpMethods: ['POST'],
    secure: true,
    params: [required('job_id', 'int'), required('command', 'str')],
  },
  {
    module: 'system',
    name: 'is_alive',
    httpMethods: ['GET'],
    secure: false,
    params: [],
  },
  {
    module: 'file_server',
    name: 'upload_cache_file',
    httpMethods: ['POST'],
    secure: true,
    params: [required('file', 'file')],
  },
];

export function findApiMethod(module: string, name: string): ApiMethod | undefined {
  return API_METHODS.find((m) => m.module === module && m.name === name);
}
