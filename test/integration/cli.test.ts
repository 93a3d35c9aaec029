import { describe, expect, it } from 'vitest';
import { runPgc } from '../harness/pgc.js';

// Every subcommand of DESIGN.md (and of the security issue) is registered.
const TOP_LEVEL = [
  'control',
  'agent',
  'panda-sim',
  'submit',
  'demo',
  'endpoints',
  'jobs',
  'job',
  'logs',
  'outputs',
  'kill',
  'drain',
  'undrain',
  'certs',
  'nats-config',
];

describe('pgc', () => {
  it('lists every subcommand in --help and exits 0', async () => {
    const run = await runPgc(['--help']);
    expect(run.code).toBe(0);
    for (const name of TOP_LEVEL) expect(run.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    expect(run.stdout).toContain('control run');
    expect(run.stdout.replace(/\s+/g, ' ')).toContain('agent run, agent init, agent exec');
  });

  it('prints the package version', async () => {
    const run = await runPgc(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('documents the address flags and their environment variables', async () => {
    const run = await runPgc(['jobs', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/--server <host:port>.*\n?.*PGC_ADDR/);
    expect(run.stdout).toContain('--json');
  });

  it('exits 2 with a clear message on bad usage', async () => {
    const unknown = await runPgc(['bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'bogus'");
    const badValue = await runPgc(['agent', 'run', '--slots', 'many']);
    expect(badValue.code).toBe(2);
    expect(badValue.stderr).toContain('expected a positive integer, got "many"');
    const missing = await runPgc(['job']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing required argument 'pandaId'");
  });
});
