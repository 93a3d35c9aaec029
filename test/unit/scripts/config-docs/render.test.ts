/**
 * docs/configuration.md cannot lie: every setting it lists has a description, and every
 * environment variable it names is proven here through the real loader (shared/config.ts) to
 * set that very setting. `npm run docs:config:check` (CI) keeps the file equal to what
 * scripts/config-docs/render.ts renders from the same rows.
 */
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { agentSchema } from '../../../../agent/config.js';
import { controlConfigFrom } from '../../../../cli/commands/control-run.js';
import { controlSchema } from '../../../../control/config.js';
import { commandOptions, findCommand, program } from '../../../../scripts/config-docs/commands.js';
import {
  type ConfiguredProcess,
  PROCESS_FLAGS,
  PROCESSES,
  processSections,
  renderConfigurationDoc,
} from '../../../../scripts/config-docs/render.js';
import { derivedEnvName, type SettingRow } from '../../../../scripts/config-docs/settings.js';
import { loadConfig } from '../../../../shared/config.js';
import { ConfigError } from '../../../../shared/errors.js';

const rowsOf = (process: ConfiguredProcess): SettingRow[] =>
  processSections(process).flatMap((section) => section.rows);

function at(config: unknown, key: string): unknown {
  return key
    .split('.')
    .reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], config);
}

/**
 * Text for the variable that the setting accepts and that differs from its default, with the
 * value the loader should turn it into. A setting of a new shape fails here until one fits.
 */
function sampleFor(row: SettingRow): { raw: string; value: unknown } {
  const def = row.schema.def as z.core.$ZodTypeDef;
  const candidates: [string, unknown][] =
    def.type === 'boolean'
      ? [
          ['true', true],
          ['false', false],
        ]
      : def.type === 'number'
        ? [2, 3, 7, 1000, 1].map((n) => [String(n), n])
        : def.type === 'array'
          ? [['QA, QB', ['QA', 'QB']]]
          : [
              ['sample-1', 'sample-1'],
              ['http://pgc.example.org:1', 'http://pgc.example.org:1'],
            ];
  for (const [raw, value] of candidates) {
    const parsed = row.schema.safeParse(value);
    if (parsed.success && JSON.stringify(parsed.data) !== JSON.stringify(row.defaultValue))
      return { raw, value: parsed.data };
  }
  throw new Error(`no sample value fits ${row.key} (${row.type}): add a candidate`);
}

const QUIET_IO = {
  stdout() {},
  stderr() {},
  stdoutBytes: async () => {},
  stderrBytes: async () => {},
  env: {},
};

describe('docs/configuration.md', () => {
  for (const process of PROCESSES) {
    const rows = rowsOf(process);
    // The agent cannot load without an endpoint id; given through the environment so that a
    // flag does not hide the variable under test.
    const base: Record<string, string> =
      process.schema === controlSchema ? {} : { PGC_ENDPOINT: 'ep-base' };
    const load = (env: Record<string, string>) =>
      loadConfig({ schema: process.schema, env: { ...base, ...env } });

    describe(process.title, () => {
      it('describes every setting', () => {
        expect(rows.length).toBeGreaterThan(10);
        expect(rows.filter((r) => r.description.trim() === '').map((r) => r.key)).toEqual([]);
      });

      it('names a variable for every setting the environment can set, and the loader honours each', () => {
        const settable = rows.filter((r) => r.env !== undefined);
        expect(settable.length).toBeGreaterThan(10);
        for (const row of settable) {
          const env = row.env as string;
          const { raw, value } = sampleFor(row);
          const config = load({ [env]: raw });
          expect(at(config, row.key), `${env}=${raw} sets ${row.key}`).toEqual(value);
          expect(at(load({}), row.key), `${row.key} differs from its default`).not.toEqual(value);
        }
      });

      it('calls file-only only what the environment cannot set', () => {
        for (const row of rows.filter((r) => r.env === undefined && !r.key.includes('[]'))) {
          // The loader reads PGC_<PATH> for it too, but text never becomes a list of entries.
          expect(row.type).toBe('list of entries');
          expect(() => load({ [derivedEnvName(row.key)]: 'x' })).toThrow(ConfigError);
        }
      });

      it('says which setting each flag sets', () => {
        const command = findCommand(program(), process.command);
        const unmapped = commandOptions(command)
          .map((o) => o.long as string)
          .filter(
            (flag) => process.flagSettings[flag] === undefined && PROCESS_FLAGS[flag] === undefined,
          );
        expect(
          unmapped,
          'flags missing from flagSettings in scripts/config-docs/render.ts',
        ).toEqual([]);
        const keys = new Set(rows.map((r) => r.key));
        for (const key of Object.values(process.flagSettings)) expect(keys).toContain(key);
      });
    });
  }

  it('proves a few variables by name, as a reader would use them', () => {
    const [agent, control] = PROCESSES as [ConfiguredProcess, ConfiguredProcess];
    const envOf = (p: ConfiguredProcess, key: string) => rowsOf(p).find((r) => r.key === key)?.env;
    expect(envOf(agent, 'sandbox.quotaBytes')).toBe('PGC_SANDBOX_QUOTA_BYTES');
    expect(envOf(agent, 'server')).toBe('PGC_ADDR');
    expect(envOf(control, 'nats.streams.replicas')).toBe('PGC_NATS_STREAMS_REPLICAS');
    expect(envOf(control, 'adminTokens')).toBeUndefined();
    const agentConfig = loadConfig({
      schema: agentSchema,
      env: {
        PGC_ENDPOINT: 'bnl-gc-01',
        PGC_SANDBOX_QUOTA_BYTES: '5368709120',
        PGC_ADDR: 'pgc.example.org:7800',
      },
    });
    expect(agentConfig).toMatchObject({
      endpointId: 'bnl-gc-01',
      server: 'pgc.example.org:7800',
      sandbox: { quotaBytes: 5 * 1024 ** 3 },
    });
    const controlConfig = loadConfig({
      schema: controlSchema,
      env: { PGC_NATS_STREAMS_REPLICAS: '3', PGC_QUEUES: 'A,B' },
    });
    expect(controlConfig.nats.streams.replicas).toBe(3);
    expect(controlConfig.queues.map((q) => q.name)).toEqual(['A', 'B']);
  });

  it('maps each control-plane flag to the setting the table names, through pgc control run', () => {
    const control = PROCESSES.find((p) => p.schema === controlSchema) as ConfiguredProcess;
    const rows = rowsOf(control);
    const command = findCommand(program(), control.command);
    const defaults = controlConfigFrom({ logLevel: 'info', queue: ['Q0'] }, QUIET_IO);
    for (const [flag, key] of Object.entries(control.flagSettings)) {
      const option = commandOptions(command).find((o) => o.long === flag);
      expect(option, `pgc control run ${flag}`).toBeDefined();
      const row = rows.find((r) => r.key === key) as SettingRow;
      const value = option?.isBoolean() ? true : key === 'queues' ? ['QA'] : sampleFor(row).raw;
      const config = controlConfigFrom(
        { logLevel: 'info', queue: ['Q0'], [option?.attributeName() as string]: value },
        QUIET_IO,
      );
      expect(at(config, key), `${flag} sets ${key}`).not.toEqual(at(defaults, key));
    }
  });

  it('renders the same text every time', () => {
    expect(renderConfigurationDoc()).toBe(renderConfigurationDoc());
  });
});
