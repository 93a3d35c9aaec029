import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobResult, JobSpec } from '../../shared/gen/pgc/v1/job.js';
import { commandSpec } from '../harness/agent.js';
import { type TempDir, tempDir } from '../harness/temp.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('npm pack', () => {
  let dir: TempDir;
  let tarball: string;
  let files: string[];

  beforeAll(() => {
    dir = tempDir();
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dir.path], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const [info] = JSON.parse(out.slice(out.indexOf('['))) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    tarball = join(dir.path, info?.filename ?? '');
    files = info?.files.map((f) => f.path) ?? [];
  });
  afterAll(() => dir[Symbol.dispose]());

  it('ships a package whose pgc runs from dist/ without the TypeScript sources', () => {
    expect(files).toContain('bin/pgc.js');
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('proto/pgc/v1/gateway.proto');
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.some((f) => f.startsWith('test/'))).toBe(false);

    execFileSync('tar', ['xzf', tarball, '-C', dir.path]);
    const installed = join(dir.path, 'package');
    // Dependencies as an install would provide them.
    symlinkSync(join(ROOT, 'node_modules'), join(installed, 'node_modules'));
    expect(existsSync(join(installed, 'cli'))).toBe(false);
    const version = execFileSync(process.execPath, [join(installed, 'bin/pgc.js'), '--version'], {
      encoding: 'utf8',
    });
    expect(version.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = execFileSync(process.execPath, [join(installed, 'bin/pgc.js'), '--help'], {
      encoding: 'utf8',
    });
    expect(help).toContain('panda-sim');
    expect(readdirSync(join(installed, 'dist'))).toEqual(expect.arrayContaining(['cli', 'shared']));
  });

  // An endpoint's user installs without root into a prefix of their own (issue 8). Dependencies
  // come from npm's cache, warm after `npm ci`; --prefer-offline asks the registry only for what
  // the cache lacks.
  it('installs with npm install -g --prefix as a user, and the installed pgc runs an agent job', () => {
    const prefix = join(dir.path, 'prefix');
    const started = performance.now();
    execFileSync(
      'npm',
      ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball],
      { cwd: dir.path, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 },
    );
    console.log(`npm install -g --prefix took ${Math.round(performance.now() - started)} ms`);
    const pgc = join(prefix, 'bin', 'pgc');
    expect(existsSync(join(prefix, 'lib/node_modules/panda-gc/dist/cli/main.js'))).toBe(true);
    expect(existsSync(join(prefix, 'lib/node_modules/panda-gc/cli'))).toBe(false);

    expect(execFileSync(pgc, ['--version'], { encoding: 'utf8' }).trim()).toMatch(
      /^\d+\.\d+\.\d+$/,
    );
    const spec = commandSpec('echo installed');
    const specFile = join(dir.path, 'spec.json');
    writeFileSync(specFile, JSON.stringify(JobSpec.toJSON(spec)));
    const out = execFileSync(
      pgc,
      [
        'agent',
        'exec',
        '--endpoint',
        'installed-ep',
        '--state-dir',
        join(dir.path, 'state'),
        '--log-level',
        'warn',
        specFile,
      ],
      { cwd: dir.path, encoding: 'utf8', timeout: 60_000 },
    );
    const line = JSON.parse(out.trim()) as { pandaId: number; state: string; result: unknown };
    expect(line.pandaId).toBe(spec.key?.pandaId);
    expect(line.state).toBe('finished');
    expect(JobResult.fromJSON(line.result).exitCode).toBe(0);
  });
});
