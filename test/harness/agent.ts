/** Builds a real agent core for tests: its own state directory, real sandbox store, python3, perl. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { AgentCore, type AgentCoreOptions } from '../../agent/agent-core.js';
import { downloadToFile, SandboxManager } from '../../agent/sandbox/sandbox-manager.js';
import type { JobKey } from '../../shared/gen/pgc/v1/common.js';
import type { JobEvent } from '../../shared/gen/pgc/v1/events.js';
import type { JobSpec, OutputInfo } from '../../shared/gen/pgc/v1/job.js';
import { silentLogger } from '../../shared/logger.js';

export interface TestAgent extends AsyncDisposable {
  core: AgentCore;
  sandboxes: SandboxManager;
  events: JobEvent[];
  stateDir: string;
}

export type TestSettings = Partial<AgentCoreOptions['settings']> & {
  monitorIntervalMs?: number;
  python?: string;
  /** The agent's own environment (default: the test process's). */
  agentEnv?: Readonly<Record<string, string | undefined>>;
};

export async function openTestAgent(
  stateDir: string,
  settings: TestSettings = {},
): Promise<TestAgent> {
  const log = silentLogger();
  const sandboxes = await SandboxManager.open({ root: join(stateDir, 'sandbox'), log });
  const events: JobEvent[] = [];
  const {
    monitorIntervalMs = 100,
    python = 'python3',
    agentEnv = process.env,
    ...runner
  } = settings;
  const core = await AgentCore.open({
    endpointId: 'test-ep',
    stateDir,
    log,
    agentEnv,
    python,
    sandboxes,
    download: (url, dest, signal) =>
      downloadToFile(url, dest, {
        timeoutMs: 30_000,
        what: 'input',
        retries: 1,
        ...(signal ? { signal } : {}),
      }),
    settings: {
      maxLogBytes: 1024 * 1024,
      killGraceMs: 1000,
      maxKillGraceMs: 5000,
      maxWalltimeS: 0,
      maxMemoryMb: 0,
      maxOutputBytes: 1024 ** 3,
      localInputDirs: [],
      heartbeatIntervalMs: 60_000,
      passEnv: ['PATH', 'HOME', 'LANG'],
      ...runner,
    },
    monitorIntervalMs,
    onEvent: (e) => events.push(e),
  });
  return {
    core,
    sandboxes,
    events,
    stateDir,
    [Symbol.asyncDispose]: async () => {
      await core.close({ cancelJobs: true });
      await sandboxes.close();
    },
  };
}

let nextId = 7_000_000_001;

/** A minimal JobSpec with a fresh attempt key. */
export function testSpec(overrides: Partial<JobSpec> = {}): JobSpec {
  const key: JobKey = { pandaId: nextId++, attemptNr: 1 };
  return {
    key,
    queue: 'TEST_Q',
    payload: { $case: 'command', command: { command: 'true' } },
    sandbox: undefined,
    inputs: [],
    outputs: [],
    log: undefined,
    limits: { cores: 1, memoryMb: 0, walltimeS: 0, killGraceMs: 0 },
    env: {},
    taskId: 1,
    jobName: 'test',
    runDir: '',
    ...overrides,
  };
}

/** A command payload spec. */
export function commandSpec(command: string, overrides: Partial<JobSpec> = {}): JobSpec {
  return testSpec({ payload: { $case: 'command', command: { command } }, ...overrides });
}

/** The local path of an output or log the agent collected (empty when it has none). */
export function pathOf(info: OutputInfo | undefined): string {
  const where = info?.location?.where;
  return where?.$case === 'path' ? where.path : '';
}

/** adler32 of a file as Python's zlib computes it: the independent reference for ours. */
export function pythonAdler32(path: string): string {
  const code = 'import sys, zlib; print("%08x" % zlib.adler32(open(sys.argv[1], "rb").read()))';
  return execFileSync('python3', ['-c', code, path], { encoding: 'utf8' }).trim();
}
