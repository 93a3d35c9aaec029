/**
 * `pgc agent exec`: runs JobSpecs (JSON files) through the agent core on this machine, without a
 * control plane, and prints each result as one JSON line. Started again with the same state
 * directory it re-attaches to the payloads of the previous run and prints their results. A site
 * can check an endpoint with it; the tests drive the agent core as its own process with it.
 * First SIGTERM/SIGINT: the agent stops and the payloads keep running; a second: they are killed.
 */

import { readFileSync } from 'node:fs';
import { AgentCore } from '../../agent/agent-core.js';
import { type AgentConfig, agentSchema, defaultAgentStateDir } from '../../agent/config.js';
import { openPathsForPayloadUser, resolveRunAs } from '../../agent/run-as.js';
import { downloadToFile, SandboxManager } from '../../agent/sandbox/sandbox-manager.js';
import { loadConfig } from '../../shared/config.js';
import { JobResult, JobSpec } from '../../shared/gen/pgc/v1/job.js';
import { createLogger, type LogLevel } from '../../shared/logger.js';
import { UsageError } from '../errors.js';
import { faultHook } from '../fault-injection.js';
import type { CliIo } from '../program.js';

export interface AgentExecFlags {
  config?: string;
  endpoint?: string;
  stateDir?: string;
  python?: string;
  logLevel: LogLevel;
}

function readSpec(file: string): JobSpec {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`job spec ${file} cannot be read as JSON: ${(err as Error).message}`);
  }
  const spec = JobSpec.fromJSON(json);
  if (spec.key === undefined || spec.payload === undefined)
    throw new UsageError(`job spec ${file} needs a key and a payload`);
  return spec;
}

export async function runAgentExec(
  files: string[],
  flags: AgentExecFlags,
  io: CliIo,
): Promise<void> {
  const config: AgentConfig = loadConfig({
    schema: agentSchema,
    ...(flags.config ? { file: flags.config } : {}),
    env: io.env,
    flags: { endpointId: flags.endpoint, stateDir: flags.stateDir, python: flags.python },
  });
  const specs = files.map(readSpec);
  const log = createLogger({
    name: 'pgc-agent',
    level: flags.logLevel,
    pretty: process.stderr.isTTY === true,
  });
  const stateDir = config.stateDir ?? defaultAgentStateDir(config.endpointId);
  const sandboxOptions = {
    root: `${stateDir}/sandbox`,
    log,
    allowHosts: config.sandbox.allowHosts,
    quotaBytes: config.sandbox.quotaBytes,
    fetchTimeoutMs: config.sandbox.fetchTimeoutMs,
    maxDownloadBytes: config.sandbox.maxDownloadBytes,
    maxExtractedBytes: config.sandbox.maxExtractedBytes,
    maxEntries: config.sandbox.maxEntries,
    extractTimeoutMs: config.sandbox.extractTimeoutMs,
    ...(config.sandbox.buildCommand
      ? {
          build: { command: config.sandbox.buildCommand, timeoutMs: config.sandbox.buildTimeoutMs },
        }
      : {}),
  };
  const runAs = resolveRunAs(config.runAsUser);
  const sandboxes = await SandboxManager.open(sandboxOptions);
  if (runAs) openPathsForPayloadUser(stateDir);
  const core = await AgentCore.open({
    endpointId: config.endpointId,
    stateDir,
    log,
    agentEnv: io.env,
    python: config.python,
    sandboxes,
    download: (url, dest, signal) =>
      downloadToFile(url, dest, {
        what: 'input',
        allowHosts: config.sandbox.allowHosts,
        timeoutMs: config.sandbox.fetchTimeoutMs,
        maxBytes: config.sandbox.maxDownloadBytes,
        log,
        ...(signal ? { signal } : {}),
      }),
    settings: {
      maxLogBytes: config.maxLogBytes,
      killGraceMs: config.killGraceMs,
      maxKillGraceMs: config.maxKillGraceMs,
      maxWalltimeS: config.maxWalltimeS,
      maxMemoryMb: config.maxMemoryMb,
      maxOutputBytes: config.maxOutputBytes,
      localInputDirs: config.inputDirs,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      passEnv: config.passEnv,
      ...(runAs ? { runAs } : {}),
    },
    monitorIntervalMs: config.monitorIntervalMs,
    allowNetworkFilesystem: config.allowNetworkFilesystem,
    ...withFault(io.env),
  });
  for (const spec of specs) await core.run(spec);

  let signals = 0;
  const stopped = new Promise<void>((resolve) => {
    const onSignal = (): void => {
      signals++;
      if (signals === 1) {
        log.info(
          'stopping: payloads keep running and are re-attached by the next start (signal again to kill them)',
        );
        resolve();
      } else {
        void core.close({ cancelJobs: true }).finally(() => resolve());
      }
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });

  const all = core.attempts().map(async ({ key }) => {
    const runner = core.runner(key);
    if (runner === undefined) return;
    const result = await runner.done;
    io.stdout(
      `${JSON.stringify({ pandaId: key.pandaId, attemptNr: key.attemptNr, state: result.failure ? 'failed' : 'finished', result: JobResult.toJSON(result) })}\n`,
    );
    await runner.markPublished();
  });
  await Promise.race([Promise.all(all), stopped]);
  await Promise.race([core.close(), stopped]);
  await sandboxes.close();
  // Detached payloads keep running; nothing else may hold the process.
  process.exit(process.exitCode ?? 0);
}

function withFault(env: Readonly<Record<string, string | undefined>>) {
  const fault = faultHook(env);
  return fault ? { fault } : {};
}
