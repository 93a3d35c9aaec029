/**
 * docs/configuration.md from the configuration schemas (agent/config.ts, control/config.ts) and
 * the pgc command tree, so the reference cannot drift from the code: `npm run docs:config`
 * writes it (scripts/gen-config-docs.mjs, which also runs Biome's formatter on it),
 * `npm run docs:config:check` (CI) fails when it is stale. Pure: no I/O, no clock, no
 * host-dependent value, so the text is the same everywhere.
 * test/unit/scripts/config-docs/render.test.ts proves every variable it names through the loader.
 */
import type { Command } from 'commander';
import type { z } from 'zod';
import { agentSchema } from '../../agent/config.js';
import { controlSchema } from '../../control/config.js';
import { describeSettings } from '../../shared/config.js';
import { commandEnvVars, commandOptions, findCommand, program } from './commands.js';
import { code, declaredEnvNames, type SettingSection, schemaSections } from './settings.js';

/** A process configured by a schema. */
export interface ConfiguredProcess {
  title: string;
  /** The pgc subcommand, as words. */
  command: readonly string[];
  schema: z.ZodObject;
  example: string;
  intro: string;
  /** Which setting each flag of the command sets (long flag → dotted key). */
  flagSettings: Readonly<Record<string, string>>;
}

/** Flags of `agent run` and `control run` that set no setting. */
export const PROCESS_FLAGS: Readonly<Record<string, string>> = {
  '--config': 'the YAML file; its keys are the settings below',
  '--log-level':
    'only a flag: the level of the process log (pino JSON lines on stderr, readable on a terminal)',
};

export const PROCESSES: readonly ConfiguredProcess[] = [
  {
    title: 'Agent',
    command: ['agent', 'run'],
    schema: agentSchema,
    example: 'examples/agent.yaml',
    intro:
      'One agent per Globus Compute endpoint, on its login node. Only `endpointId` is required. ' +
      '`pgc agent init` writes a starter file from flags.',
    flagSettings: {
      '--endpoint': 'endpointId',
      '--queue': 'queues',
      '--server': 'server',
      '--nats': 'nats.url',
      '--slots': 'slots',
      '--state-dir': 'stateDir',
      '--insecure': 'insecure',
    },
  },
  {
    title: 'Control plane',
    command: ['control', 'run'],
    schema: controlSchema,
    example: 'examples/control.yaml',
    intro:
      'One control plane per NATS subject prefix (it alone consumes their job events); it must ' +
      'serve at least one queue. ' +
      '`pgc nats-config --config` reads the same file for `nats.subjectPrefix` and the ' +
      'endpoints its `queues` list.',
    flagSettings: {
      '--queue': 'queues',
      '--listen': 'listen',
      '--panda-url': 'panda.url',
      '--panda-token': 'panda.token',
      '--nats': 'nats.url',
      '--state-dir': 'stateDir',
      '--metrics-listen': 'metricsListen',
      '--insecure': 'insecure',
    },
  },
];

/** The sections of one process, with the loader's variable names. */
export function processSections(process: ConfiguredProcess): SettingSection[] {
  return schemaSections(process.schema);
}

/** Table cells: `|` is escaped (also inside code spans, as GFM tables require), no newlines. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

/** Prose from a description: `<x>` and `*` would otherwise be read as HTML and emphasis. */
function prose(text: string): string {
  return text.replace(/[<*]/g, (c) => `\\${c}`);
}

function table(header: string[], rows: string[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
}

function renderProcess(process: ConfiguredProcess, root: Command): string[] {
  const command = findCommand(root, process.command);
  const name = `pgc ${process.command.join(' ')}`;
  const lines: string[] = [
    `## ${process.title}: \`${name} --config FILE\``,
    '',
    `${process.intro} Every setting, commented, in \`${process.example}\`.`,
    '',
    `### Flags of \`${name}\``,
    '',
    ...table(
      ['flag', 'sets', 'help'],
      commandOptions(command).map((option) => {
        const key = option.long ? process.flagSettings[option.long] : undefined;
        const fixed = option.long ? PROCESS_FLAGS[option.long] : undefined;
        return [code(option.flags), key ? code(key) : '—', prose(fixed ?? option.description)];
      }),
    ),
    '',
  ];
  for (const section of processSections(process)) {
    if (section.rows.length === 0) continue;
    lines.push(`### ${section.path === '' ? 'Top-level settings' : code(`${section.path}.*`)}`, '');
    if (section.description !== '') lines.push(`${capitalised(prose(section.description))}.`, '');
    lines.push(
      ...table(
        ['setting', 'type', 'default', 'environment', 'meaning'],
        section.rows.map((r) => [
          code(r.key),
          r.type,
          r.defaultText,
          r.env ? code(r.env) : r.key.includes('[]') ? '(in its list)' : 'file only',
          prose(r.description),
        ]),
      ),
      '',
    );
  }
  return lines;
}

/** A description as a sentence; `gRPC…` and other words with inner capitals stay as they are. */
function capitalised(text: string): string {
  return /^[a-z][a-z]/.test(text) ? text.charAt(0).toUpperCase() + text.slice(1) : text;
}

/** Variables both processes read: on one host, set them per process, not in a shared profile. */
function sharedEnvNames(): string[] {
  const [first, ...rest] = PROCESSES.map(
    (p) => new Set(describeSettings(p.schema).map((s) => s.env)),
  );
  return [...(first ?? [])].filter((env) => rest.every((set) => set.has(env))).sort();
}

function renderIntro(): string[] {
  const exceptions = PROCESSES.flatMap((p) =>
    declaredEnvNames(p.schema).map(
      ({ key, env }) => `${code(key)} of the ${p.title.toLowerCase()} is ${code(env)}`,
    ),
  );
  return [
    '<!-- Generated by `npm run docs:config` (scripts/gen-config-docs.mjs) from agent/config.ts, control/config.ts and the pgc command tree. Do not edit: change a `.describe()` and regenerate; CI runs `npm run docs:config:check`. -->',
    '',
    '# Configuration',
    '',
    'Two processes take a configuration: the agent (`pgc agent run`) and the control plane ' +
      '(`pgc control run`). Each has one schema (`agent/config.ts`, `control/config.ts`) that ' +
      'gives every setting its type, default, environment variable and meaning; this page is ' +
      'generated from them. Commented examples with every setting: `examples/agent.yaml` and ' +
      '`examples/control.yaml`. Operating both is described in `docs/operations.md`.',
    '',
    '## How a value is chosen',
    '',
    '- **Precedence: flag > environment > file > default.** The YAML file given with ' +
      '`--config` is read first, `PGC_*` variables override it, flags override both, and ' +
      'what nobody set takes its default. Objects are merged key by key (a file that sets only ' +
      '`nats.url` keeps every other `nats` default); a list is replaced as a whole (`PGC_QUEUES` ' +
      "replaces the file's `queues`).",
    '- **Validated once, at start.** Every problem is reported at once, each with the key and ' +
      'where the value came from (`slots (from PGC_SLOTS): …`, `(in agent.yaml)`, `(from the ' +
      'command line)`), and the process does not start. A key the schema does not know is an ' +
      'error, so a typo never silently falls back to a default.',
    '- **Units are in the names**: `…Ms` milliseconds, `…S` seconds, `…Hours`, `…Bytes`, `…Mb` ' +
      'mebibytes.',
    '- **Types.** `id`: 1 to 64 letters, digits, `_` or `-` (ids become NATS subjects and ' +
      'paths). `unset` means the setting has no value unless given; its meaning says what ' +
      'happens then.',
    '',
    '## Environment variables',
    '',
    '- **Names.** `PGC_` followed by the dotted path, each part in SCREAMING_CASE and joined ' +
      'by `_`: `sandbox.quotaBytes` is `PGC_SANDBOX_QUOTA_BYTES`, ' +
      '`nats.streams.replicas` is `PGC_NATS_STREAMS_REPLICAS`. ' +
      `Exceptions, declared in the schemas: ${exceptions.join('; ')}.`,
    '- **Values.** Numbers in decimal; booleans `1`, `true`, `yes`, `on` or `0`, `false`, ' +
      '`no`, `off` (any case); lists comma-separated (`PGC_QUEUES=A,B`, blanks dropped). A ' +
      'variable set to the empty string is a value, not unset (`PGC_METRICS_LISTEN=` turns the ' +
      'metrics listener off). Lists of entries (`adminTokens`) can be set only in the file.',
    `- **Shared names.** Both processes read ${sharedEnvNames().map(code).join(', ')}, each ` +
      'for its own setting (e.g. `PGC_TLS_CERT_FILE` is the control plane’s server ' +
      'certificate but an agent’s client certificate, and `PGC_ADDR` is where the control ' +
      'plane listens but where an agent dials). Where both run on one host, set them per ' +
      'process (a systemd unit’s `Environment=`, or the config files), not in a shared profile.',
    '- **Secrets.** Prefer files: `nats.nkeySeedFile` over `nats.password`, and ' +
      '`PGC_PANDA_TOKEN` over a token in a file others can read. Agents never pass `PGC_*` ' +
      'variables to payloads.',
    '',
  ];
}

function renderCommandEnv(root: Command): string[] {
  const configured = PROCESSES.map((p) => p.command.join(' '));
  const rows = commandEnvVars(root, configured).map(({ env, uses }) => {
    // One group per flag and help text: `pgc a`, `pgc b`: `--flag`, help.
    const groups = new Map<string, string[]>();
    for (const use of uses) {
      const what = `${code(use.flag)}, ${prose(use.description)}`;
      groups.set(what, [...(groups.get(what) ?? []), code(`pgc ${use.command}`)]);
    }
    return [
      code(env),
      [...groups.entries()].map(([what, commands]) => `${commands.join(', ')}: ${what}`).join('; '),
    ];
  });
  return [
    '## Environment variables of the other commands',
    '',
    'Commands without a configuration file take their addresses and credentials from flags; ' +
      'these flags fall back to a variable when they are not given (`pgc <command> --help` ' +
      "shows them). The admin verbs' TLS variables are the agent's, so an agent's host can run " +
      'them with its own files.',
    '',
    ...table(['variable', 'read by'], rows),
    '',
  ];
}

/** docs/configuration.md before formatting (the writer runs Biome's formatter on it). */
export function renderConfigurationDoc(): string {
  const root = program();
  const lines = [
    ...renderIntro(),
    ...PROCESSES.flatMap((p) => renderProcess(p, root)),
    ...renderCommandEnv(root),
  ];
  return `${lines.join('\n').trimEnd()}\n`;
}
