/**
 * The settings of a zod 4 configuration schema, read through zod's public introspection
 * (`.def`, its checks, and `z.globalRegistry` where `.describe()` and `.meta()` put their text):
 * each setting's dotted path, type, default and description, grouped by the object it is in.
 * Variable names come from shared/config.ts's describeSettings, the function the loader itself
 * reads them with. No I/O.
 */
import { z } from 'zod';
import { describeSettings } from '../../shared/config.js';
import { ID_PATTERN } from '../../shared/ids.js';

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

export function code(text: string): string {
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

/** The sections of a schema, with the loader's variable names. */
export function schemaSections(schema: z.ZodObject): SettingSection[] {
  const envByKey = new Map(describeSettings(schema).map((s) => [s.key, s.env]));
  return settingSections(schema, (key) => envByKey.get(key));
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
