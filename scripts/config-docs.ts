/**
 * Builds docs/configuration.md from the configuration schemas (agent/config.ts,
 * control/config.ts) and the pgc command tree, so the reference cannot drift from the code:
 * `npm run docs:config` writes it, `npm run docs:config:check` (CI) fails when it is stale.
 *
 * Settings come from walking the zod 4 schemas through their public introspection (`.def`,
 * `z.globalRegistry` for `.describe()` and `.meta()`); environment variable names come from
 * shared/config.ts's describeSettings, the very function the loader uses to read them. Flags
 * and the variables other commands read come from commander's option objects. Pure: no I/O, no
 * clock, no host-dependent value, so the output is byte-for-byte the same everywhere.
 * test/unit/scripts/config-docs.test.ts proves every documented variable through the loader.
 */
import type { Command, Option } from 'commander';
import { z } from 'zod';
import { agentSchema } from '../agent/config.js';
import { buildProgram } from '../cli/program.js';
import { controlSchema } from '../control/config.js';
import { describeSettings } from '../shared/config.js';
import { ID_PATTERN } from '../shared/ids.js';

/** One row of a settings table. */
export interface SettingRow {
  /** Dotted path; fields of list entries are `list[].field`. */
  key: string;
  /** The variable the loader reads, or undefined when only the file (or a flag) can set it. */
  env: string | undefined;
  /** The schema of the value, wrappers (default, optional…) removed. */
  schema: z.ZodType;
  type: string;
  /** `required`, `unset`, or the default in backticks with a unit where the name has one. */
  defaultText: string;
  defaultValue: unknown;
  description: string;
}

/** The settings of one object of a schema (the top level, `nats`, `nats.streams`, …). */
export interface SettingSection {
  /** Dotted path of the object; '' for the top level. */
  path: string;
  description: string;
  rows: SettingRow[];
}

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
      'One control plane per PanDA deployment; it must serve at least one queue. ' +
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

// ---------------------------------------------------------------------------------------------
// Walking a schema

const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'readonly']);

interface Unwrapped {
  inner: z.ZodType;
  description: string;
  /** The first default or prefault from the outside in. */
  defaultValue: unknown;
  hasDefault: boolean;
  optional: boolean;
}

function registryDescription(schema: z.ZodType): string | undefined {
  return z.globalRegistry.get(schema)?.description;
}

/** Strips default/prefault/optional/nullable/readonly; the outermost description wins. */
function unwrap(schema: z.ZodType): Unwrapped {
  let current = schema;
  let description = registryDescription(current);
  let defaultValue: unknown;
  let hasDefault = false;
  let optional = false;
  for (;;) {
    const def = current.def as z.core.$ZodTypeDef & { innerType?: z.ZodType };
    if ((def.type === 'default' || def.type === 'prefault') && !hasDefault) {
      hasDefault = true;
      defaultValue = (def as unknown as { defaultValue: unknown }).defaultValue;
    }
    if (def.type === 'optional') optional = true;
    if (!WRAPPERS.has(def.type) || def.innerType === undefined) break;
    current = def.innerType;
    description ??= registryDescription(current);
  }
  return { inner: current, description: description ?? '', defaultValue, hasDefault, optional };
}

/** A preprocess (`z.preprocess(fn, T)`) is documented as T. */
function throughPipe(schema: z.ZodType): z.ZodType {
  const def = schema.def as z.core.$ZodTypeDef & { in?: z.ZodType; out?: z.ZodType };
  if (def.type === 'pipe' && def.in?.def.type === 'transform' && def.out) return def.out;
  return schema;
}

function checkDefs(schema: z.ZodType): z.core.$ZodCheckDef[] {
  return (schema.def.checks ?? []).map((check) => check._zod.def);
}

function code(text: string): string {
  return `\`${text}\``;
}

function numberType(schema: z.ZodType): string {
  let integer = false;
  let low: string | undefined;
  let high: string | undefined;
  for (const check of checkDefs(schema)) {
    if (check.check === 'number_format') integer = true;
    if (check.check === 'greater_than') {
      const { value, inclusive } = check as z.core.$ZodCheckGreaterThanDef;
      low = inclusive ? `≥ ${value}` : `> ${value}`;
    }
    if (check.check === 'less_than') {
      const { value, inclusive } = check as z.core.$ZodCheckLessThanDef;
      high = inclusive ? `≤ ${value}` : `< ${value}`;
    }
  }
  // An exclusive lower bound on an integer reads better as the first allowed value.
  const exclusive = checkDefs(schema).find((c) => c.check === 'greater_than') as
    | z.core.$ZodCheckGreaterThanDef
    | undefined;
  if (integer && exclusive && !exclusive.inclusive) low = `≥ ${Number(exclusive.value) + 1}`;
  const kind = integer ? 'integer' : 'number';
  if (low !== undefined && high !== undefined)
    return `${kind} from ${low.replace(/^\S+ /, '')} to ${high.replace(/^\S+ /, '')}`;
  return [kind, low, high].filter((p) => p !== undefined).join(' ');
}

function stringType(schema: z.ZodType): string {
  if ((schema.def as { format?: string }).format === 'url') return 'URL';
  const checks = checkDefs(schema);
  const regex = checks.find(
    (c): c is z.core.$ZodCheckRegexDef =>
      c.check === 'string_format' && (c as z.core.$ZodCheckStringFormatDef).format === 'regex',
  );
  if (regex) {
    return regex.pattern.source === ID_PATTERN.source
      ? 'id'
      : `string matching ${code(regex.pattern.source)}`;
  }
  const min = checks.find((c) => c.check === 'min_length') as
    | z.core.$ZodCheckMinLengthDef
    | undefined;
  return min && min.minimum > 0 ? 'non-empty string' : 'string';
}

/** The type column: what a value of this schema may be. */
export function typeText(schema: z.ZodType): string {
  const inner = throughPipe(unwrap(schema).inner);
  const def = inner.def as z.core.$ZodTypeDef & {
    element?: z.ZodType;
    entries?: Record<string, string>;
  };
  switch (def.type) {
    case 'string':
      return stringType(inner);
    case 'number':
      return numberType(inner);
    case 'boolean':
      return 'boolean';
    case 'enum':
      return Object.values(def.entries ?? {})
        .map(code)
        .join(' or ');
    case 'object':
      return 'object';
    case 'array': {
      if (def.element === undefined) return 'list';
      const entry = listEntryObject(inner);
      if (entry === undefined) return `list of ${typeText(def.element)}`;
      // A preprocess in front of the entry turns a plain value into {name: value} (queues).
      const name = (entry.shape as Record<string, z.ZodType>).name;
      return acceptsScalars(inner) && name !== undefined
        ? `list of entries or ${typeText(name)}s (the name alone)`
        : 'list of entries';
    }
    default:
      return def.type;
  }
}

const BYTE_UNITS: [string, number][] = [
  ['TiB', 1024 ** 4],
  ['GiB', 1024 ** 3],
  ['MiB', 1024 ** 2],
  ['KiB', 1024],
];
const MS_UNITS: [string, number][] = [
  ['days', 86_400_000],
  ['h', 3_600_000],
  ['min', 60_000],
  ['s', 1000],
];

/** `10 GiB` for a byte count, `7 days` for milliseconds: the unit is in the setting's name. */
function humanised(key: string, value: number): string | undefined {
  const units = key.endsWith('Bytes') ? BYTE_UNITS : key.endsWith('Ms') ? MS_UNITS : [];
  if (value === 0) return undefined;
  for (const [unit, size] of units) {
    if (value >= size && value % size === 0) {
      const n = value / size;
      return `${n} ${unit === 'days' && n === 1 ? 'day' : unit}`;
    }
  }
  return undefined;
}

function defaultText(key: string, u: Unwrapped, required: boolean): string {
  if (required) return 'required';
  if (!u.hasDefault) return 'unset';
  const value = u.defaultValue;
  if (typeof value === 'number') {
    const human = humanised(key, value);
    return human ? `${code(String(value))} (${human})` : code(String(value));
  }
  if (typeof value === 'string') return value === '' ? code('""') : code(value);
  if (Array.isArray(value)) return code(`[${value.map(String).join(', ')}]`);
  return code(JSON.stringify(value));
}

/**
 * Every object of `schema` as a section of rows, in schema order; nested objects follow their
 * parent. `envOf` maps a dotted key to the loader's variable.
 */
export function settingSections(
  schema: z.ZodObject,
  envOf: (key: string) => string | undefined,
): SettingSection[] {
  const sections: SettingSection[] = [];
  const walkObject = (object: z.ZodObject, path: string[], description: string): void => {
    const section: SettingSection = { path: path.join('.'), description, rows: [] };
    sections.push(section);
    const nested: [z.ZodObject, string[], string][] = [];
    for (const [name, child] of Object.entries(object.shape as Record<string, z.ZodType>)) {
      const u = unwrap(child);
      const here = [...path, name];
      if (u.inner.def.type === 'object') {
        nested.push([u.inner as z.ZodObject, here, u.description]);
        continue;
      }
      const key = here.join('.');
      const listEntry = listEntryObject(u.inner);
      section.rows.push(
        row(key, u, listEntry === undefined || acceptsScalars(u.inner) ? envOf(key) : undefined),
      );
      // Fields of list entries ({name, role, sha256}…) are documented under `list[].field`.
      if (listEntry) {
        for (const [field, fieldSchema] of Object.entries(
          listEntry.shape as Record<string, z.ZodType>,
        )) {
          section.rows.push(row(`${key}[].${field}`, unwrap(fieldSchema), undefined));
        }
      }
    }
    for (const [child, childPath, childDescription] of nested)
      walkObject(child, childPath, childDescription);
  };
  walkObject(schema, [], '');
  return sections;
}

function row(key: string, u: Unwrapped, env: string | undefined): SettingRow {
  const required = !u.hasDefault && !u.optional;
  return {
    key,
    env,
    schema: u.inner,
    type: typeText(u.inner),
    defaultText: defaultText(key, u, required),
    defaultValue: u.defaultValue,
    description: u.description,
  };
}

/** The entry object of a list of objects (through a preprocess), else undefined. */
function listEntryObject(schema: z.ZodType): z.ZodObject | undefined {
  const def = schema.def as z.core.$ZodTypeDef & { element?: z.ZodType };
  if (def.type !== 'array' || def.element === undefined) return undefined;
  const entry = throughPipe(unwrap(def.element).inner);
  return entry.def.type === 'object' ? (entry as z.ZodObject) : undefined;
}

/**
 * A list of objects is settable from the environment only when its entries may be given as
 * strings (a preprocess turns `Q` into `{name: Q}`): the loader splits variables at commas.
 */
function acceptsScalars(schema: z.ZodType): boolean {
  const element = (schema.def as { element?: z.ZodType }).element;
  return element !== undefined && unwrap(element).inner.def.type === 'pipe';
}

/** The sections of one process, with the loader's variable names. */
export function processSections(process: ConfiguredProcess): SettingSection[] {
  const envByKey = new Map(describeSettings(process.schema).map((s) => [s.key, s.env]));
  return settingSections(process.schema, (key) => envByKey.get(key));
}

/** The variables whose name differs from the derived PGC_<PATH> (declared with `.meta`). */
export function declaredEnvNames(schema: z.ZodObject): { key: string; env: string }[] {
  return describeSettings(schema)
    .filter((s) => s.env !== derivedEnvName(s.key))
    .map(({ key, env }) => ({ key, env }));
}

/** PGC_ + each path segment in SCREAMING_CASE, joined by `_` (shared/config.ts). */
export function derivedEnvName(key: string): string {
  return `PGC_${key
    .split('.')
    .map((segment) => segment.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase())
    .join('_')}`;
}

// ---------------------------------------------------------------------------------------------
// The command tree

const QUIET_IO = {
  stdout: () => {},
  stderr: () => {},
  stdoutBytes: async () => {},
  stderrBytes: async () => {},
  env: {},
};

/** The pgc command tree as a user gets it with an empty environment. */
export function program(): Command {
  return buildProgram(QUIET_IO);
}

export function findCommand(root: Command, words: readonly string[]): Command {
  let command = root;
  for (const word of words) {
    const next = command.commands.find((c) => c.name() === word);
    if (next === undefined) throw new Error(`pgc has no command "${words.join(' ')}"`);
    command = next;
  }
  return command;
}

/** Options of a command, help and version left out. */
export function commandOptions(command: Command): Option[] {
  return command.options.filter((o) => o.long !== '--help' && o.long !== '--version');
}

interface CommandEnv {
  env: string;
  uses: { command: string; flag: string; description: string }[];
}

/** Every variable a commander option reads, with the commands and flags that read it. */
export function commandEnvVars(root: Command, skip: readonly string[] = []): CommandEnv[] {
  const found = new Map<string, CommandEnv>();
  const walk = (command: Command, words: string[]): void => {
    for (const option of skip.includes(words.join(' ')) ? [] : commandOptions(command)) {
      if (option.envVar === undefined) continue;
      const entry = found.get(option.envVar) ?? { env: option.envVar, uses: [] };
      entry.uses.push({
        command: words.join(' '),
        flag: option.long ?? option.flags,
        description: option.description,
      });
      found.set(option.envVar, entry);
    }
    for (const sub of command.commands) walk(sub, [...words, sub.name()]);
  };
  walk(root, []);
  return [...found.values()].sort((a, b) => a.env.localeCompare(b.env));
}

// ---------------------------------------------------------------------------------------------
// Markdown

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
