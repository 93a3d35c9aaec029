import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeSettings, loadConfig } from '../../../shared/config.js';
import { ConfigError } from '../../../shared/errors.js';

const schema = z.strictObject({
  slots: z.number().int().positive().default(8).describe('job slots'),
  killGraceMs: z.number().int().nonnegative().default(10_000).describe('grace before SIGKILL'),
  queues: z.array(z.string().min(1)).default([]).describe('queues served'),
  server: z
    .string()
    .default('127.0.0.1:7800')
    .describe('control-plane address')
    .meta({ env: 'PGC_ADDR' }),
  insecure: z.boolean().default(false),
  nats: z
    .strictObject({
      url: z.url().default('nats://127.0.0.1:4222').describe('NATS server'),
      prefix: z.string().default('pgc'),
    })
    .prefault({}),
});

function captureConfigError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('fills every default, nested ones included, when nothing is given', () => {
    expect(loadConfig({ schema })).toEqual({
      slots: 8,
      killGraceMs: 10_000,
      queues: [],
      server: '127.0.0.1:7800',
      insecure: false,
      nats: { url: 'nats://127.0.0.1:4222', prefix: 'pgc' },
    });
  });

  it('converts environment strings by the setting type, with derived and declared names', () => {
    const config = loadConfig({
      schema,
      env: {
        PGC_SLOTS: '16',
        PGC_KILL_GRACE_MS: '0',
        PGC_QUEUES: 'A, B',
        PGC_ADDR: '10.0.0.1:7800',
        PGC_INSECURE: 'yes',
        PGC_NATS_URL: 'nats://n:4222',
      },
    });
    expect(config).toMatchObject({
      slots: 16,
      killGraceMs: 0,
      queues: ['A', 'B'],
      server: '10.0.0.1:7800',
      insecure: true,
    });
    expect(config.nats.url).toBe('nats://n:4222');
  });

  it('lets flags win over the environment', () => {
    const config = loadConfig({
      schema,
      env: { PGC_SLOTS: '16' },
      flags: { slots: 2, nats: { prefix: undefined } },
    });
    expect(config.slots).toBe(2);
    expect(config.nats.prefix).toBe('pgc');
  });

  it('reports every problem at once, each naming the key and where the value came from', () => {
    const err = captureConfigError(() =>
      loadConfig({
        schema,
        env: { PGC_SLOTS: 'many', PGC_NATS_URL: 'not a url' },
        flags: { killGraceMs: -1 },
      }),
    );
    expect(err.problems).toHaveLength(3);
    expect(err.problems[0]).toMatch(/^slots \(from PGC_SLOTS\): .*number/);
    expect(err.problems.find((p) => p.startsWith('killGraceMs'))).toMatch(
      /\(from the command line\)/,
    );
    expect(err.problems.find((p) => p.startsWith('nats.url'))).toMatch(
      /\(from PGC_NATS_URL\): Invalid URL/,
    );
    expect(err.message).toContain('3 configuration problems');
  });
});

describe('describeSettings', () => {
  it('lists every leaf setting with its environment variable, default and help', () => {
    const settings = describeSettings(schema);
    expect(settings.map((s) => s.key)).toEqual([
      'slots',
      'killGraceMs',
      'queues',
      'server',
      'insecure',
      'nats.url',
      'nats.prefix',
    ]);
    expect(settings.find((s) => s.key === 'killGraceMs')).toEqual({
      key: 'killGraceMs',
      env: 'PGC_KILL_GRACE_MS',
      type: 'number',
      default: 10_000,
      description: 'grace before SIGKILL',
    });
    expect(settings.find((s) => s.key === 'server')?.env).toBe('PGC_ADDR');
    expect(settings.find((s) => s.key === 'queues')?.type).toBe('string[]');
  });
});
