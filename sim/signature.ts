/**
 * Binding request parameters to a v1 handler's Python signature, with the server's messages.
 * Every v1 handler has a fixed signature and no **kwargs, so an unknown key fails the call
 * (`Argument error: f() got an unexpected keyword argument 'x'`); then each argument that differs
 * from its default is checked with isinstance (`Type error: 'x' must be of type int, got str.`).
 * POST JSON is never cast; GET query strings are cast by the type hint first
 * (srv api/v1/common.py::request_validation; reference §0.2).
 */
import {
  isPyInt,
  type PyDict,
  PyFile,
  PyFloat,
  type PyValue,
  pyEquals,
  pyTypeName,
} from './py-value.js';

/** Python type hints used by the simulated handlers. `number` is `int | float`. */
export type PyType =
  | 'int'
  | 'float'
  | 'number'
  | 'str'
  | 'bool'
  | 'list'
  | 'dict'
  | 'List[int]'
  | 'List[str]'
  | 'file'
  | 'any';

export interface ParamSpec {
  readonly name: string;
  readonly type: PyType;
  /** Absent: a required parameter. */
  readonly default?: PyValue;
}

export interface Signature {
  /** The handler's Python name, as it appears in "acquire_jobs() missing ...". */
  readonly name: string;
  readonly params: readonly ParamSpec[];
}

export type BindResult = { ok: true; args: Map<string, PyValue> } | { ok: false; message: string };

/** Python's `__name__` of each hint, as the messages show it. */
const HINT_NAME: Readonly<Record<PyType, string>> = {
  int: 'int',
  float: 'float',
  number: 'int | float',
  str: 'str',
  bool: 'bool',
  list: 'list',
  dict: 'dict',
  'List[int]': 'List',
  'List[str]': 'List',
  file: 'FileStorage',
  any: 'object',
};

function isInt(v: PyValue): boolean {
  // isinstance(True, int) is True in Python: bool is a subclass of int.
  return isPyInt(v) || typeof v === 'boolean';
}

/** The isinstance check of one argument; a message when it fails. */
export function checkType(name: string, type: PyType, v: PyValue): string | undefined {
  const wrong = (expected: string): string =>
    `Type error: '${name}' must be of type ${expected}, got ${pyTypeName(v)}.`;
  switch (type) {
    case 'any':
      return undefined;
    case 'int':
      return isInt(v) ? undefined : wrong('int');
    case 'float':
      return v instanceof PyFloat ? undefined : wrong('float');
    case 'number':
      return isInt(v) || v instanceof PyFloat ? undefined : wrong('int | float');
    case 'str':
      return typeof v === 'string' ? undefined : wrong('str');
    case 'bool':
      return typeof v === 'boolean' ? undefined : wrong('bool');
    case 'dict':
      return v instanceof Map ? undefined : wrong('dict');
    case 'file':
      return v instanceof PyFile ? undefined : wrong('FileStorage');
    case 'list':
      return Array.isArray(v) ? undefined : wrong('list');
    case 'List[int]':
    case 'List[str]': {
      if (!Array.isArray(v)) return wrong('list');
      const element = type === 'List[int]' ? 'int' : 'str';
      const ok = v.every((item) => (element === 'int' ? isInt(item) : typeof item === 'string'));
      return ok ? undefined : `Type error: All elements in '${name}' must be ${element}.`;
    }
  }
}

/** Python's float() of a query-string value (underscores between digits, surrounding spaces). */
function pyFloatFromText(text: string): number | undefined {
  const t = text.trim().replace(/(?<=[0-9])_(?=[0-9])/g, '');
  if (!/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

function castInt(v: PyValue): PyValue | undefined {
  if (typeof v !== 'string') return undefined;
  const n = pyFloatFromText(v);
  // int(float(v)): truncation toward zero, as the reference notes ("int via float").
  return n === undefined ? undefined : Math.trunc(n) + 0;
}

/** Casts a GET value (a string, or a list of strings for a repeated key) to the hint. */
export function castQueryValue(type: PyType, v: PyValue): PyValue | undefined {
  switch (type) {
    case 'int':
      return castInt(v);
    case 'float':
    case 'number': {
      if (typeof v !== 'string') return undefined;
      if (type === 'number' && /^\s*[+-]?[0-9]+\s*$/.test(v)) return castInt(v);
      const n = pyFloatFromText(v);
      return n === undefined ? undefined : new PyFloat(n);
    }
    case 'bool':
      return typeof v === 'string' ? ['true', '1'].includes(v.toLowerCase()) : undefined;
    case 'List[int]': {
      const items = Array.isArray(v) ? v : [v];
      const cast = items.map(castInt);
      return cast.some((c) => c === undefined) ? undefined : (cast as PyValue[]);
    }
    case 'List[str]':
    case 'list':
      return Array.isArray(v) ? v : [v];
    case 'dict':
    case 'file':
      return undefined;
    case 'str':
    case 'any':
      return v;
  }
}

function missingMessage(fn: string, names: string[]): string {
  const quoted = names.map((n) => `'${n}'`);
  const list =
    quoted.length === 1
      ? quoted[0]
      : quoted.length === 2
        ? `${quoted[0]} and ${quoted[1]}`
        : `${quoted.slice(0, -1).join(', ')}, and ${quoted[quoted.length - 1]}`;
  const noun = names.length === 1 ? 'argument' : 'arguments';
  return `Argument error: ${fn}() missing ${names.length} required positional ${noun}: ${list}`;
}

/**
 * Binds keyword arguments like a Python call, then checks types. Order matters and follows
 * CPython: the first unexpected keyword (in the request's key order) is reported before any
 * missing argument; type checks run in signature order.
 */
export function bindArguments(sig: Signature, kwargs: PyDict, fromQuery: boolean): BindResult {
  const byName = new Map(sig.params.map((p) => [p.name, p]));
  for (const key of kwargs.keys()) {
    if (!byName.has(key)) {
      return {
        ok: false,
        message: `Argument error: ${sig.name}() got an unexpected keyword argument '${key}'`,
      };
    }
  }
  const missing = sig.params.filter((p) => p.default === undefined && !kwargs.has(p.name));
  if (missing.length > 0) {
    return {
      ok: false,
      message: missingMessage(
        sig.name,
        missing.map((p) => p.name),
      ),
    };
  }
  const args = new Map<string, PyValue>();
  for (const p of sig.params) {
    let value = kwargs.has(p.name) ? (kwargs.get(p.name) as PyValue) : (p.default as PyValue);
    // "Skip if value is the default value": a default is never checked, nor an equal value.
    if (p.default !== undefined && pyEquals(p.default, value)) {
      args.set(p.name, value);
      continue;
    }
    if (fromQuery) {
      const cast = castQueryValue(p.type, value);
      if (cast === undefined) {
        return {
          ok: false,
          message: `Type error: '${p.name}' could not be casted to type ${HINT_NAME[p.type]}.`,
        };
      }
      value = cast;
    }
    const problem = checkType(p.name, p.type, value);
    if (problem !== undefined) return { ok: false, message: problem };
    args.set(p.name, value);
  }
  return { ok: true, args };
}
