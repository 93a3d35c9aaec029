/**
 * What the agent-side scenarios (kills, logs, agent-footprint) share: the whole system as real
 * processes (test/harness/system.ts: nats-server, the PanDA simulator, `pgc control run`, one
 * `pgc agent run`), an Admin connection as `pgc` makes it, and /proc readings of payload trees
 * and of the agent's memory.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MARKER_VARIABLE } from '../../agent/agent-core.js';
import { isRunning, type ProcStat, processesByMarker } from '../../agent/proc.js';
import { AdminConnection } from '../../cli/admin/connection.js';
import { EndpointStatus, JobState } from '../../shared/gen/pgc/v1/admin.js';
import { attemptId } from '../../shared/ids.js';
import { E2E_CONTROL } from '../../test/harness/e2e.js';
import { TestSystem } from '../../test/harness/system.js';
import { waitFor } from '../../test/harness/wait.js';
import { defineCommandJobs, uploadCalcPackage } from '../../test/harness/workload.js';

export const BENCH_QUEUE = 'BENCH_Q';
export const BENCH_ENDPOINT = 'bench-a';

export interface AgentBench extends AsyncDisposable {
  system: TestSystem;
  admin: AdminConnection;
  /** The agent process's pid (node running `pgc agent run`). */
  agentPid: () => number;
  /** Defines one command job per command; resolves with their PanDA ids. */
  define: (commands: readonly string[]) => Promise<number[]>;
}

/**
 * One agent serving one queue, `slots` wide, its settings given as PGC_* variables. Resolves once
 * the control plane lists the endpoint online.
 */
export async function startAgentBench(
  dir: string,
  options: { slots: number; agentEnv?: Record<string, string>; noAgent?: boolean },
): Promise<AgentBench> {
  const system = await TestSystem.start({
    dir,
    queues: [BENCH_QUEUE],
    agents: options.noAgent
      ? []
      : [
          {
            endpointId: BENCH_ENDPOINT,
            queues: [BENCH_QUEUE],
            slots: options.slots,
            env: { ...options.agentEnv },
          },
        ],
    control: E2E_CONTROL,
    simTimeouts: { adderDelayMs: 100, watchdogIntervalMs: 500 },
  });
  const admin = new AdminConnection({ server: system.controlAddress });
  const dispose = async (): Promise<void> => {
    admin.close();
    // A clean stop first, so that node writes its --cpu-prof profile (PGC_NODE_ARGS) before the
    // harness SIGKILLs what is left; the harness then kills the payloads of this system.
    for (const agent of system.agents.values()) await agent.stop('SIGTERM', 10_000);
    await system.control.stop('SIGTERM', 10_000);
    await system[Symbol.asyncDispose]();
  };
  try {
    await uploadCalcPackage(system.sim, dir);
    if (!options.noAgent) await waitOnline(admin, BENCH_ENDPOINT);
  } catch (err) {
    await dispose();
    throw err;
  }
  let serial = 0;
  return {
    system,
    admin,
    agentPid: () => system.agent(BENCH_ENDPOINT).pid ?? 0,
    define: async (commands) => {
      const ids = await defineCommandJobs(system.sim, BENCH_QUEUE, commands, {
        firstSerial: serial,
      });
      serial += commands.length;
      return ids;
    },
    [Symbol.asyncDispose]: dispose,
  };
}

/** Waits until the control plane lists the endpoint online. */
export async function waitOnline(admin: AdminConnection, endpointId: string): Promise<void> {
  await waitFor(
    async () =>
      (await admin.listEndpoints()).endpoints.some(
        (e) => e.endpointId === endpointId && e.status === EndpointStatus.ONLINE,
      ),
    { what: `agent ${endpointId} online`, timeoutMs: 60_000, intervalMs: 200 },
  );
}

/** The live processes of each job's first attempt, found by the marker in their environment. */
export function jobTrees(pandaIds: readonly number[]): Map<number, ProcStat[]> {
  const byAttempt = new Map(pandaIds.map((id) => [attemptId({ pandaId: id, attemptNr: 1 }), id]));
  const out = new Map<number, ProcStat[]>();
  // A marker is <endpoint>/<attempt>/<nonce>.
  for (const [marker, procs] of processesByMarker(MARKER_VARIABLE)) {
    const id = byAttempt.get(marker.split('/')[1] ?? '');
    if (id !== undefined) out.set(id, [...(out.get(id) ?? []), ...procs]);
  }
  return out;
}

/**
 * Waits until every job has at least `minProcesses` live processes, or has ended (a job that ended
 * on its own, e.g. a payload signalled by someone else on a shared machine, is left out); returns
 * the trees of those running.
 */
export function waitForTrees(
  admin: AdminConnection,
  pandaIds: readonly number[],
  minProcesses: number,
  timeoutMs: number,
): Promise<Map<number, ProcStat[]>> {
  return waitFor(
    async () => {
      const trees = jobTrees(pandaIds);
      const pending = pandaIds.filter((id) => (trees.get(id)?.length ?? 0) < minProcesses);
      if (pending.length === 0) return trees;
      const details = await Promise.all(pending.map((id) => admin.getJob(id).catch(() => null)));
      if (!details.every((d) => d?.summary && FINAL_STATES.includes(d.summary.state)))
        return undefined;
      for (const id of pending) trees.delete(id);
      return trees;
    },
    { what: `${pandaIds.length} payload trees running`, timeoutMs, intervalMs: 250 },
  );
}

/** True while any process of the tree (by pid and start time, so a reused pid is not it) lives. */
export function treeAlive(tree: readonly ProcStat[]): boolean {
  return tree.some((p) => isRunning(p.pid, p.startTicks));
}

/** Waits until the control plane has every job in one of `states`. */
export async function waitForStates(
  admin: AdminConnection,
  pandaIds: readonly number[],
  states: readonly JobState[],
  timeoutMs: number,
): Promise<void> {
  await waitFor(
    async () => {
      const details = await Promise.all(pandaIds.map((id) => admin.getJob(id).catch(() => null)));
      return details.every((d) => d?.summary !== undefined && states.includes(d.summary.state));
    },
    {
      what: `${pandaIds.length} jobs ${states.map((s) => JobState[s]).join('/')}`,
      timeoutMs,
      intervalMs: 250,
    },
  );
}

export const FINAL_STATES = [JobState.FINISHED, JobState.FAILED, JobState.CANCELLED];

/** VmRSS and VmHWM of a process, in MiB (0 when it is gone). */
export function memoryMiB(pid: number): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string): number =>
      Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024;
    return { rss: field('VmRSS'), hwm: field('VmHWM') };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

/** The agent's log file in a bench system's directory (for the reader after a failure). */
export function agentLogFile(dir: string): string {
  return join(dir, 'logs', `agent-${BENCH_ENDPOINT}.log`);
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));
