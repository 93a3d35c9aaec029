import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../harness/temp.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('npm pack', () => {
  it('ships a package whose pgc runs from dist/ without the TypeScript sources', () => {
    using dir = tempDir();
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dir.path], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const [info] = JSON.parse(out.slice(out.indexOf('['))) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    const files = info?.files.map((f) => f.path) ?? [];
    expect(files).toContain('bin/pgc.js');
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('proto/pgc/v1/gateway.proto');
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.some((f) => f.startsWith('test/'))).toBe(false);

    execFileSync('tar', ['xzf', join(dir.path, info?.filename ?? ''), '-C', dir.path]);
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
});
