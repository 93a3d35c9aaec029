/**
 * What a payload can see of the agent (issue 7, item 3): its environment is built from an
 * allow-list that never lets credentials or the agent's own settings through; run as another
 * user (the agent as root), a payload that searches every file and /proc entry it can read finds
 * no agent secret, yet reads its own code and writes its own directory.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentSchema } from '../../../agent/config.js';
import { openPathsForPayloadUser, resolveRunAs } from '../../../agent/run-as.js';
import { loadConfig } from '../../../shared/config.js';
import type { PandaSim } from '../../../sim/server.js';
import { commandSpec, openTestAgent, pathOf } from '../../harness/agent.js';
import { startSim } from '../../harness/sim.js';
import { tempDir } from '../../harness/temp.js';
import { ARCHIVE, uploadCalcPackage } from '../../harness/workload.js';

const SECRETS = {
  PGC_NATS_PASSWORD: 'nats-S3cr3t-7f1c',
  PANDA_TOKEN: 'panda-S3cr3t-91ab',
  AWS_SECRET_ACCESS_KEY: 'aws-S3cr3t-c0de',
};
const FILE_SECRET = 'file-S3cr3t-5eed';
const isRoot = process.getuid?.() === 0;

let sim: PandaSim;
const simDir = tempDir('pgc-iso-sim-');
beforeAll(async () => {
  sim = await startSim({ cacheDir: join(simDir.path, 'cache') });
  await uploadCalcPackage(sim, simDir.path);
});
afterAll(async () => {
  await sim.close();
  simDir[Symbol.dispose]();
});

describe('payload isolation', () => {
  it('a payload dumping its environment finds no agent secret, even when passEnv names one', async () => {
    using dir = tempDir();
    await using agent = await openTestAgent(join(dir.path, 'state'), {
      agentEnv: { PATH: process.env.PATH, HOME: '/root', ...SECRETS },
      passEnv: ['PATH', 'HOME', 'PANDA_TOKEN', 'PGC_NATS_PASSWORD'],
    });
    const run = await agent.core.run(
      commandSpec('env', { log: { lfn: 'env.log.tgz', guid: 'g', scope: '' } }),
    );
    const result = await run.done;
    expect(result.failure).toBeUndefined();
    const stdout = readFileSync(join(run.jobDir, 'stdout'), 'utf8');
    expect(stdout).toContain('PATH=');
    for (const secret of Object.values(SECRETS)) expect(stdout).not.toContain(secret);
    expect(pathOf(result.log)).not.toBe('');
  });

  it('refuses a passEnv entry that names a credential or an agent setting', () => {
    expect(() =>
      loadConfig({
        schema: agentSchema,
        env: { PGC_ENDPOINT: 'x', PGC_PASS_ENV: 'PATH,X509_TOKEN_FILE' },
      }),
    ).toThrow(/passEnv.*names a credential/s);
  });

  it('refuses runAsUser when the agent is not root, and root as the payload user', () => {
    expect(() => resolveRunAs('nobody', 1000)).toThrow(/only an agent running as root/);
    expect(() => resolveRunAs('root', 0)).toThrow(/must not run as root/);
    expect(() => resolveRunAs('no-such-user-pgc', 0)).toThrow(/no user "no-such-user-pgc"/);
    expect(resolveRunAs(undefined, 0)).toBeUndefined();
  });

  it.skipIf(!isRoot)(
    'run as nobody, a payload finds no secret in any file or /proc entry it can read, yet has its code',
    async () => {
      using dir = tempDir();
      // As under /home/<site-user>: the agent's parents are traversable.
      chmodSync(dir.path, 0o711);
      const stateDir = join(dir.path, 'state');
      const configDir = join(dir.path, 'config');
      mkdirSync(configDir, { mode: 0o700 });
      writeFileSync(join(configDir, 'nats.password'), FILE_SECRET, { mode: 0o600 });
      const runAs = resolveRunAs('nobody');
      if (runAs === undefined) throw new Error('nobody did not resolve');
      const before = { ...process.env };
      Object.assign(process.env, SECRETS);
      try {
        await using agent = await openTestAgent(stateDir, { runAs });
        openPathsForPayloadUser(stateDir);
        // The secrets travel encoded and are decoded into a file outside the searched places,
        // so the search's own command lines do not carry them.
        const needles = Buffer.from(
          `${[...Object.values(SECRETS), FILE_SECRET].join('\n')}\n`,
        ).toString('base64');
        const script = [
          'id -u',
          'head -1 calc/ops.py',
          'echo written > mine.txt && cat mine.txt',
          `n=$(mktemp) && echo ${needles} | base64 -d > $n`,
          // Every /proc entry and every file under the test directory this user can read.
          `grep -rlsF -f $n /proc/[0-9]*/environ /proc/[0-9]*/cmdline /proc/[0-9]*/status ${dir.path} 2>/dev/null | sed 's/^/FOUND /'`,
          'rm -f $n',
          'env | grep -c S3cr3t || true',
        ].join('; ');
        const spec = commandSpec(script, {
          sandbox: { url: `${sim.url}/cache/${ARCHIVE}`, sha256: '' },
        });
        const run = await agent.core.run(spec);
        const result = await run.done;
        const stdout = readFileSync(join(run.jobDir, 'stdout'), 'utf8');
        const stderr = readFileSync(join(run.jobDir, 'stderr'), 'utf8');
        expect(result.failure, stderr).toBeUndefined();
        const lines = stdout.trim().split('\n');
        expect(lines[0]).toBe(String(runAs.uid));
        expect(lines[1]).toMatch(/\S/);
        expect(lines[2]).toBe('written');
        expect(stdout).not.toContain('FOUND');
        expect(lines.at(-1)).toBe('0');

        // The same search run as the agent's own user (root) does find them: it can fail.
        await using asRoot = await openTestAgent(join(dir.path, 'state-root'));
        const control = await asRoot.core.run(commandSpec(script, { sandbox: spec.sandbox }));
        await control.done;
        expect(readFileSync(join(control.jobDir, 'stdout'), 'utf8')).toMatch(
          /FOUND \/proc\/\d+\/environ/,
        );
      } finally {
        for (const name of Object.keys(SECRETS)) delete process.env[name];
        Object.assign(process.env, before);
      }
    },
  );
});
