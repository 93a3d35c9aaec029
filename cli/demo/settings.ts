/**
 * What the demo runs and how fast: its queue and endpoints, the settings that make every part
 * react within a second (the defaults are tuned for production PanDA, where a 10 s idle poll and
 * a 30 s status poll spare the server), and the deadlines after which it declares a failure.
 * Everything here reaches the processes through their ordinary config files and flags.
 */

/** The PanDA queue both demo endpoints serve. */
export const DEMO_QUEUE = 'DEMO_QUEUE';

/** Two endpoints, as two Globus Compute endpoints at two sites would be. */
export const DEMO_ENDPOINTS = ['demo-site-a', 'demo-site-b'] as const;

/** Slots per endpoint: room for every demo job at once on either of them. */
export const DEMO_SLOTS = 4;

/** Control-plane settings (control/config.ts keys) written to its YAML file. */
export const DEMO_CONTROL_SETTINGS = {
  // The demo submits right after the control plane starts: a 10 s idle poll would be dead time.
  pollIntervalMs: 300,
  idlePollIntervalMs: 500,
  // How soon a kill in PanDA is noticed (job/get_status); production polls every 30 s.
  statusPollIntervalMs: 1000,
  pandaHeartbeatIntervalMs: 10_000,
  metricsListen: '',
} as const;

/** Agent settings (agent/config.ts keys) written to each agent's YAML file. */
export const DEMO_AGENT_SETTINGS = {
  slots: DEMO_SLOTS,
  heartbeatIntervalMs: 5000,
  monitorIntervalMs: 500,
  // The long job dies on SIGTERM at once; this only bounds a payload that would not.
  killGraceMs: 3000,
} as const;

/** `pgc panda-sim` flags: finalise reports quickly, as the e2e tests do. */
export const DEMO_SIM_FLAGS = ['--adder-delay-ms', '100', '--watchdog-interval-ms', '500'];

export const DEADLINES = {
  /** One process to say it is listening. */
  startMs: 20_000,
  /** Both agents connected once the control plane is up. */
  endpointsOnlineMs: 20_000,
  /** The long job running (sandbox fetched, payload started) after submission. */
  longJobRunningMs: 30_000,
  /** The killed job's processes gone after the kill in PanDA (status poll + kill). */
  treeGoneMs: 15_000,
  /** Every job final and acknowledged by PanDA after submission. */
  allFinalMs: 45_000,
  /** One child to exit after SIGTERM before it gets SIGKILL. */
  stopMs: 10_000,
} as const;

/** How long the long job runs (and prints progress) before the demo kills it. */
export const KILL_AFTER_RUNNING_MS = 2500;

/** How often the demo looks at the jobs (Admin ListJobs, PanDA's view). */
export const POLL_INTERVAL_MS = 250;
