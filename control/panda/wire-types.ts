/**
 * Parameters and replies of the PanDA v1 calls we make, spelled exactly as on the wire
 * (reference/panda-protocol.md §1.1, §2.1). v1 rejects unknown names and wrong JSON types, so
 * these types are the contract: ints are numbers, everything else strings.
 */

/** pilot/acquire_jobs (only site_name is required). */
export interface AcquireJobsParams {
  site_name: string;
  timeout?: number;
  memory?: number;
  disk_space?: number;
  prod_source_label?: string;
  node?: string;
  computing_element?: string;
  prod_user_id?: string;
  task_id?: number;
  n_jobs?: number;
  resource_type?: string;
  harvester_id?: string;
  worker_id?: number;
  scheduler_id?: string;
  job_type?: string;
  remaining_time?: number;
}

/** The job states PanDA accepts from a pilot or Harvester (§2.3). */
export type PandaJobState =
  | 'starting'
  | 'running'
  | 'holding'
  | 'transferring'
  | 'finished'
  | 'failed';

/** pilot/update_job, and one element of update_jobs_bulk's job_list. */
export interface UpdateJobParams {
  job_id: number;
  job_status: PandaJobState;
  attempt_nr?: number;
  site_name?: string;
  node?: string;
  scheduler_id?: string;
  pilot_id?: string;
  batch_id?: string;
  job_sub_status?: string;
  trans_exit_code?: number;
  pilot_error_code?: number;
  pilot_error_diag?: string;
  exe_error_code?: number;
  exe_error_diag?: string;
  /** "%Y-%m-%d %H:%M:%S" UTC. */
  start_time?: string;
  end_time?: string;
  cpu_consumption_time?: number;
  cpu_consumption_unit?: string;
  core_count?: number;
  max_rss?: number;
  n_input_files?: number;
  job_metrics?: string;
  /** JSON keyed by LFN: {guid, fsize, adler32, surl?, endpoint?} (§5.1). */
  job_output_report?: string;
  /** The payload's job report, a JSON string. */
  meta_data?: string;
  timeout?: number;
}

/** What PanDA says back to an update: its StatusCode and the back-channel command, if any. */
export interface UpdateReply {
  statusCode: number;
  /** "tobekilled", "alreadydone", "debug", ...; null when PanDA sent "NULL" or nothing. */
  command: string | null;
}

/** One element of job/get_status. */
export interface JobStatusReply {
  status: string;
  command: string | null;
}
