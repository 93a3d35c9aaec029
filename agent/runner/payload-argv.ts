/**
 * What the supervisor executes for a JobSpec, and with which environment. Function payloads run
 * the shipped Python bootstrap; command payloads run with /bin/sh -c (the user's own command is
 * the only thing that goes through a shell). The environment is built from an allow-list, never
 * the agent's own, so the agent's credentials do not leak into user code.
 */
import { writeFileSync } from 'node:fs';
import type { JobSpec } from '../../shared/gen/pgc/v1/job.js';
import { assetPath } from '../../shared/package-info.js';
import type { JobPaths } from './job-dir.js';

export const BOOTSTRAP_SCRIPT = assetPath('agent/runner/bootstrap.py');

/** Variables a payload gets from the agent's environment unless configured otherwise. */
export const DEFAULT_PASS_ENV = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'LC_ALL',
  'TZ',
  'TMPDIR',
  'SHELL',
];

/** Variables that carry the agent's settings or look like credentials: never a payload's. */
export function isSecretName(name: string): boolean {
  return /^PGC_/.test(name) || /TOKEN|PASSWORD|PASSWD|SECRET|CREDENTIAL|PRIVATE_KEY/i.test(name);
}

// Job-supplied variables that would change how the supervisor or the loader behave.
const FORBIDDEN_ENV = /^(LD_|PERL5|PERLLIB$|PYTHONHOME$|PGC_)/;

export interface PayloadEnvInput {
  agentEnv: Readonly<Record<string, string | undefined>>;
  passEnv: readonly string[];
  spec: JobSpec;
  sandboxDir?: string;
  cwd: string;
  markerVariable: string;
  marker: string;
  /** The user the payload runs as: its HOME is its working directory, USER/LOGNAME its name. */
  runAs?: { name: string };
}

export function payloadEnv(input: PayloadEnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of input.passEnv) {
    const value = input.agentEnv[name];
    // The agent's own settings and anything named like a secret never pass, whatever passEnv says.
    if (value !== undefined && !isSecretName(name)) env[name] = value;
  }
  for (const [name, value] of Object.entries(input.spec.env)) {
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !FORBIDDEN_ENV.test(name)) env[name] = value;
  }
  // The user's code is importable first, as in the 2023 integration (and runGen's workdir).
  const sandboxPaths =
    input.sandboxDir === undefined
      ? []
      : input.spec.runDir === ''
        ? [input.sandboxDir]
        : [`${input.sandboxDir}/${input.spec.runDir}`, input.sandboxDir];
  const pythonPath = [...sandboxPaths, input.cwd, ...(env.PYTHONPATH ? [env.PYTHONPATH] : [])];
  env.PYTHONPATH = pythonPath.join(':');
  if (input.runAs !== undefined) {
    env.HOME = input.cwd;
    env.USER = input.runAs.name;
    env.LOGNAME = input.runAs.name;
  }
  env.PGC_JOB_DIR = input.cwd;
  env[input.markerVariable] = input.marker;
  return env;
}

/** The argv for the supervisor; for a function payload, also writes the bootstrap's spec file. */
export function payloadArgv(spec: JobSpec, paths: JobPaths, python: string): string[] {
  const payload = spec.payload;
  switch (payload?.$case) {
    case 'command':
      return ['/bin/sh', '-c', payload.command.command];
    case 'function': {
      const fn = payload.function;
      const bootstrapSpec = {
        pre_script: fn.preScript,
        func_name: fn.funcName,
        args: fn.argsJson,
        kwargs: fn.kwargsJson,
        result_file: paths.result,
        error_file: paths.error,
        first_output: spec.outputs[0]?.localName ?? null,
      };
      writeFileSync(paths.bootstrapSpec, JSON.stringify(bootstrapSpec), { mode: 0o600 });
      return [python, BOOTSTRAP_SCRIPT, paths.bootstrapSpec];
    }
    default:
      throw new Error('job spec has no payload');
  }
}
