/**
 * Configuration loading, one way for every process: a zod schema is the single place where each
 * setting has its name, default, unit, help and environment variable. Values are layered
 * default < YAML file < environment < flags, validated once at start-up, and every problem is
 * reported at once, each naming the key and where the bad value came from.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors.js';

/** Metadata a setting may carry with `.meta({...})`. */
export interface SettingMeta {
  /** Environment variable, when it is not the derived PGC_<PATH_IN_SCREAMING_CASE>. */
  env?: string;
}

export interface SettingInfo {
  /** Dotted path, e.g. `nats.url`. */
  key: string;
  env: string;
  type: string;
  default: unknown;
  description: string;
}

export interface LoadConfigOptions<S extends z.ZodObject> {
  schema: S;
  /** A YAML file; missing keys fall back to defaults, unknown keys are errors. */
  file?: string;
  /** The process environment, passed in by the entry point. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Values from command-line flags, nested like the schema; undefined entries are ignored. */
  flags?: Record<string, unknown>;
  envPrefix?: string;
}

type Source = { kind: 'file'; file: string } | { kind: 'env'; name: string } | { kind: 'flag' };

const screaming = (segment: string): string =>
  segment.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

function metaOf(schema: z.ZodType): SettingMeta & { description?: string } {
  return (
    (z.globalRegistry.get(schema) as (SettingMeta & { description?: string }) | undefined) ?? {}
  );
}

/** Strips default/prefault/optional/nullable wrappers, collecting metadata on the way. */
function unwrap(schema: z.ZodType): {
  inner: z.ZodType;
  meta: SettingMeta & { description?: string };
  defaultValue: unknown;
} {
  let current = schema;
  let meta = metaOf(current);
  let defaultValue: unknown;
  for (;;) {
    const def = current.def as { type: string; innerType?: z.ZodType; defaultValue?: unknown };
    if ((def.type === 'default' || def.type === 'prefault') && defaultValue === undefined)
      defaultValue = def.defaultValue;
    if (
      def.innerType === undefined ||
      !['default', 'prefault', 'optional', 'nullable', 'readonly'].includes(def.type)
    )
      break;
    current = def.innerType;
    meta = { ...metaOf(current), ...meta };
  }
  return { inner: current, meta, defaultValue };
}

/** Every leaf setting of a schema: what docs/configuration.md and env overrides are built from. */
export function describeSettings(schema: z.ZodObject, envPrefix = 'PGC_'): SettingInfo[] {
  const out: SettingInfo[] = [];
  const walk = (shape: Record<string, z.ZodType>, path: string[]): void => {
    for (const [name, child] of Object.entries(shape)) {
      const { inner, meta, defaultValue } = unwrap(child);
      const here = [...path, name];
      if (inner instanceof z.ZodObject) {
        walk(inner.shape as Record<string, z.ZodType>, here);
        continue;
      }
      out.push({
        key: here.join('.'),
        env: meta.env ?? `${envPrefix}${here.map(screaming).join('_')}`,
        type: typeName(inner),
        default: defaultValue,
        description: meta.description ?? '',
      });
    }
  };
  walk(schema.shape as Record<string, z.ZodType>, []);
  return out;
}

function typeName(schema: z.ZodType): string {
  const def = schema.def as {
    type: string;
    element?: z.ZodType;
    entries?: Record<string, unknown>;
  };
  if (def.type === 'array' && def.element) return `${typeName(def.element)}[]`;
  if (def.type === 'enum' && def.entries) return Object.keys(def.entries).join(' | ');
  return def.type;
}

function leafSchema(schema: z.ZodObject, key: string): z.ZodType | undefined {
  let current: z.ZodType = schema;
  for (const part of key.split('.')) {
    const { inner } = unwrap(current);
    if (!(inner instanceof z.ZodObject)) return undefined;
    const next = (inner.shape as Record<string, z.ZodType>)[part];
    if (next === undefined) return undefined;
    current = next;
  }
  return unwrap(current).inner;
}

/** Environment values are strings; convert them by the setting's type so zod sees real types. */
function fromEnvString(raw: string, schema: z.ZodType | undefined): unknown {
  const type = schema?.def.type;
  if (type === 'number' || type === 'int') {
    const n = Number(raw.trim());
    return raw.trim() === '' || Number.isNaN(n) ? raw : n;
  }
  if (type === 'boolean') {
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    return raw;
  }
  if (type === 'array') {
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map((s) => fromEnvString(s, (schema?.def as { element?: z.ZodType } | undefined)?.element));
  }
  return raw;
}

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts.at(-1) as string] = value;
}

/** Deep-merges plain objects; arrays and scalars from `over` replace. Undefined is ignored. */
function merge(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const b = out[k];
    const bothObjects = [b, v].every(
      (x) => typeof x === 'object' && x !== null && !Array.isArray(x),
    );
    out[k] = bothObjects ? merge(b as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

function flatten(obj: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(obj).flatMap(([k, v]) =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? flatten(v as Record<string, unknown>, `${prefix}${k}.`)
      : [`${prefix}${k}`],
  );
}

function readYaml(file: string, problems: string[]): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    problems.push(`config file ${file} cannot be read: ${(err as Error).message}`);
    return {};
  }
  try {
    const doc: unknown = parseYaml(text);
    if (doc === null || doc === undefined) return {};
    if (typeof doc !== 'object' || Array.isArray(doc)) {
      problems.push(
        `config file ${file} must hold a mapping of settings, not ${Array.isArray(doc) ? 'a list' : typeof doc}`,
      );
      return {};
    }
    return doc as Record<string, unknown>;
  } catch (err) {
    const where =
      err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}` : '';
    problems.push(
      `config file ${file} is not valid YAML${where}: ${(err as Error).message.split('\n')[0]}`,
    );
    return {};
  }
}

/**
 * Builds a validated configuration. Throws a ConfigError listing every problem, each with the
 * key and its source (`slots (from PGC_SLOTS): expected number`).
 */
export function loadConfig<S extends z.ZodObject>(options: LoadConfigOptions<S>): z.infer<S> {
  const { schema, file, env = {}, flags = {}, envPrefix = 'PGC_' } = options;
  const problems: string[] = [];
  const sources = new Map<string, Source>();

  const fromFile = file === undefined ? {} : readYaml(file, problems);
  for (const key of flatten(fromFile)) sources.set(key, { kind: 'file', file: file as string });

  const fromEnv: Record<string, unknown> = {};
  for (const setting of describeSettings(schema, envPrefix)) {
    const raw = env[setting.env];
    if (raw === undefined) continue;
    setPath(fromEnv, setting.key, fromEnvString(raw, leafSchema(schema, setting.key)));
    sources.set(setting.key, { kind: 'env', name: setting.env });
  }
  for (const key of flatten(flags)) {
    if (lookup(flags, key) !== undefined) sources.set(key, { kind: 'flag' });
  }

  const input = merge(merge(fromFile, fromEnv), flags);
  const result = schema.safeParse(input);
  if (result.success && problems.length === 0) return result.data;

  for (const issue of result.success ? [] : result.error.issues) {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) {
        const full = path === '' ? k : `${path}.${k}`;
        problems.push(`${full}${describeSource(sources, full)}: unknown setting`);
      }
      continue;
    }
    problems.push(
      `${path === '' ? '(top level)' : path}${describeSource(sources, path)}: ${issue.message}`,
    );
  }
  throw new ConfigError(problems);
}

function lookup(obj: Record<string, unknown>, key: string): unknown {
  let node: unknown = obj;
  for (const part of key.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

function describeSource(sources: Map<string, Source>, key: string): string {
  const source =
    sources.get(key) ?? [...sources.entries()].find(([k]) => k.startsWith(`${key}.`))?.[1];
  if (source === undefined) return '';
  switch (source.kind) {
    case 'file':
      return ` (in ${source.file})`;
    case 'env':
      return ` (from ${source.name})`;
    case 'flag':
      return ' (from the command line)';
  }
}
