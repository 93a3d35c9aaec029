/**
 * The self-contained agent bundle (npm run package:agent): built into a temp dir, unpacked, and
 * run through a symlink with a PATH that holds only what payloads and the wrapper use — no node.
 * The bundled pgc reports the package version and runs a command job, and a function job whose
 * code comes from a sandbox (so the extraction worker, a second bundled entry point, runs too);
 * `pgc agent init --systemd` from it writes a unit that starts the bundle's wrapper; and its
 * `pgc agent run` connects to a control plane (gRPC) and NATS.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import {
  accessSync,
  constants,
  mkdirSync,
  readFileSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobResult, JobSpec } from '../../shared/gen/pgc/v1/job.js';
import { tgz } from '../fixtures/sandbox/tar-builder.js';
import { TestServer } from '../fixtures/sandbox/test-server.js';
import { commandSpec, pathOf, testSpec } from '../harness/agent.js';
import { runPgc } from '../harness/pgc.js';
import { type TempDir, tempDir } from '../harness/temp.js';
import { waitFor } from '../harness/wait.js';
import { useControlEnv } from './control/harness.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VERSION = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
).version;
// sh for the wrapper and command payloads, readlink for the wrapper, perl for the launcher and
// supervisor, tar and gzip for the log tarball, python3 for function payloads.
const TOOLS = ['sh', 'readlink', 'perl', 'tar', 'gzip'];

/** The first executable `name` on the test's own PATH. */
function which(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {}
  }
  throw new Error(`${name} is not on the PATH; install it (apt-get install ${name})`);
}

/** A directory of symlinks to exactly the tools payloads need: no node among them. */
function payloadOnlyBin(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const tool of TOOLS) symlinkSync(which(tool), join(bin, tool));
  // The interpreter itself, not a shim (pyenv's python3 is a bash script calling pyenv).
  const python = execFileSync(which('python3'), ['-c', 'import sys; print(sys.executable)'], {
    encoding: 'utf8',
  }).trim();
  symlinkSync(python, join(bin, 'python3'));
  return bin;
}

function writeSpec(dir: string, name: string, spec: JobSpec): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(JobSpec.toJSON(spec)));
  return file;
}

const { env: controlEnv, setup } = useControlEnv();

describe('agent bundle', () => {
  let dir: TempDir;
  /** The bundle's bin/pgc, through a symlink elsewhere, as a site would put it on its PATH. */
  let pgc: string;
  /** A PATH of only what payloads and the wrapper use, and HOME in the temp dir. */
  let env: Record<string, string>;

  beforeAll(() => {
    dir = tempDir();
    const started = performance.now();
    const built = execFileSync(
      process.execPath,
      [join(ROOT, 'scripts/package-agent.mjs'), '--out-dir', join(dir.path, 'out')],
      { encoding: 'utf8' },
    );
    console.log(`${built.trim()} (test build step ${Math.round(performance.now() - started)} ms)`);
    const tarball = join(dir.path, 'out', `pgc-agent-${VERSION}-linux-${process.arch}.tar.gz`);
    mkdirSync(join(dir.path, 'site'));
    execFileSync('tar', ['xzf', tarball, '-C', join(dir.path, 'site')]);
    mkdirSync(join(dir.path, 'links'));
    pgc = join(dir.path, 'links', 'pgc');
    symlinkSync(join(dir.path, 'site', `pgc-agent-${VERSION}`, 'bin', 'pgc'), pgc);
    env = { PATH: payloadOnlyBin(dir.path), HOME: dir.path, LANG: 'C.UTF-8' };
  });
  afterAll(() => dir[Symbol.dispose]());

  it('runs pgc and agent jobs from the unpacked tarball with no node on the PATH', async () => {
    expect(() => execFileSync('sh', ['-c', 'command -v node'], { env })).toThrow();
    expect(execFileSync(pgc, ['--version'], { env, encoding: 'utf8' }).trim()).toBe(VERSION);

    await using server = await TestServer.start();
    const sandboxUrl = server.serve(
      '/cache/code.tgz',
      tgz([{ name: 'calc/ops.py', data: 'def double(x):\n    return 2 * x\n' }]),
    );
    const command = commandSpec('echo hello; echo oops >&2; exit 3', {
      log: { lfn: 'user.t.cmd.log.tgz', guid: 'g-cmd', scope: 'user.t' },
    });
    const fn = testSpec({
      payload: {
        $case: 'function',
        function: {
          preScript: 'from calc.ops import double\ndef run(x):\n    return {"doubled": double(x)}',
          funcName: 'run',
          argsJson: '[21]',
          kwargsJson: '',
        },
      },
      sandbox: { url: sandboxUrl, sha256: '' },
    });
    // Asynchronous: the sandbox server runs in this process.
    const { stdout: out } = await promisify(execFile)(
      pgc,
      [
        'agent',
        'exec',
        '--endpoint',
        'bundle-ep',
        '--state-dir',
        join(dir.path, 'state'),
        '--log-level',
        'warn',
        writeSpec(dir.path, 'command', command),
        writeSpec(dir.path, 'function', fn),
      ],
      { env, encoding: 'utf8', timeout: 60_000 },
    );
    const results = new Map(
      out
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { pandaId: number; state: string; result: unknown })
        .map((line) => [line.pandaId, line]),
    );
    const commandResult = JobResult.fromJSON(results.get(command.key?.pandaId ?? 0)?.result);
    expect(commandResult.exitCode).toBe(3);
    expect(commandResult.errorDiag).toBe('oops');
    const stdout = execFileSync(
      'tar',
      ['xzOf', pathOf(commandResult.log), '--wildcards', '*/stdout.txt'],
      {
        encoding: 'utf8',
      },
    );
    expect(stdout).toBe('hello\n');
    const fnResult = JobResult.fromJSON(results.get(fn.key?.pandaId ?? 0)?.result);
    expect(fnResult.failure).toBeUndefined();
    expect(JSON.parse(fnResult.returnValueJson)).toEqual({ doubled: 42 });
    expect(server.hits('/cache/code.tgz')).toBe(1);

    // A unit written by the bundled pgc starts the bundle's own wrapper (by its real path).
    execFileSync(
      pgc,
      [
        'agent',
        'init',
        '--endpoint',
        'bundle-ep',
        '--queue',
        'Q',
        '--systemd',
        '--unit-dir',
        join(dir.path, 'units'),
        '-o',
        join(dir.path, 'agent.yaml'),
      ],
      { env, encoding: 'utf8' },
    );
    const wrapper = realpathSync(join(dir.path, 'site', `pgc-agent-${VERSION}`, 'bin', 'pgc'));
    expect(readFileSync(join(dir.path, 'units', 'pgc-agent-bundle-ep.service'), 'utf8')).toContain(
      `\nExecStart=${wrapper} agent run --config ${join(dir.path, 'agent.yaml')}\n`,
    );
  });
  it('runs pgc agent run, which connects to a control plane over gRPC and NATS', async () => {
    const ctl = await setup();
    // Only the subject prefix is not a flag: each test has its own (env > default).
    const agent = spawn(
      pgc,
      [
        'agent',
        'run',
        '--endpoint',
        'bundle-run',
        '--queue',
        ctl.queue,
        '--server',
        ctl.cp.grpcAddress,
        '--nats',
        controlEnv.nats.url,
        '--state-dir',
        join(dir.path, 'run-state'),
      ],
      { env: { ...env, PGC_NATS_PREFIX: ctl.names.prefix }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    agent.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => agent.once('exit', resolve));
    controlEnv.defer(() => {
      if (agent.exitCode === null) agent.kill('SIGKILL');
    });
    const endpoint = await waitFor(
      async () => {
        const run = await runPgc(['endpoints', '--json', '--server', ctl.cp.grpcAddress]);
        const list = (JSON.parse(run.stdout) as { endpoints: Array<Record<string, unknown>> })
          .endpoints;
        return list.find((e) => e.endpointId === 'bundle-run' && e.status === 'online');
      },
      { what: `the bundled agent online (its log: ${stderr.slice(-500)})`, timeoutMs: 20_000 },
    );
    expect(endpoint).toMatchObject({ queues: [ctl.queue], agentVersion: VERSION });
    agent.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
