/**
 * Values as the PanDA server (Python) sees them. The v1 API checks parameter types with Python's
 * isinstance (srv api/v1/common.py::request_validation), so the simulator must keep distinctions
 * JavaScript loses: `1` is an int but `1.0` is a float, a dict keeps its key order, an uploaded
 * file is a werkzeug FileStorage. Parsed request data is therefore held as PyValue, never as
 * plain JSON.
 */

/** A Python float: a JSON number written with a fraction or an exponent (`1.0`, `2e3`). */
export class PyFloat {
  constructor(readonly value: number) {}
  toJSON(): number | string {
    return Number.isFinite(this.value) ? this.value : String(this.value);
  }
}

/** A multipart file part, the simulator's werkzeug FileStorage: the bytes were streamed to disk. */
export class PyFile {
  constructor(
    readonly filename: string,
    readonly path: string,
    readonly sizeBytes: number,
  ) {}
  toJSON(): { filename: string; sizeBytes: number } {
    return { filename: this.filename, sizeBytes: this.sizeBytes };
  }
}

/** A Python dict with string keys, in insertion order (a JS object would reorder "1" before "a"). */
export type PyDict = Map<string, PyValue>;

/** int is a JS number (safe integers) or a bigint (larger ones); bool is a boolean. */
export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PyFloat
  | PyFile
  | PyValue[]
  | PyDict;

export function isPyInt(v: PyValue): v is number | bigint {
  return typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v));
}

/** Python's `type(v).__name__`, as it appears in "got str" of a type error. */
export function pyTypeName(v: PyValue): string {
  if (v === null) return 'NoneType';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number' || typeof v === 'bigint') return 'int';
  if (typeof v === 'string') return 'str';
  if (v instanceof PyFloat) return 'float';
  if (v instanceof PyFile) return 'FileStorage';
  if (Array.isArray(v)) return 'list';
  return 'dict';
}

/** The number a Python int, bool or float stands for (True == 1 in Python), else undefined. */
function numeric(v: PyValue): number | bigint | undefined {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' || typeof v === 'bigint') return v;
  if (v instanceof PyFloat) return v.value;
  return undefined;
}

/** Python `a == b`: 1 == True == 1.0, lists and dicts compare by content. */
export function pyEquals(a: PyValue, b: PyValue): boolean {
  const na = numeric(a);
  const nb = numeric(b);
  if (na !== undefined || nb !== undefined) {
    if (na === undefined || nb === undefined) return false;
    // biome-ignore lint/suspicious/noDoubleEquals: == compares a bigint with a number by value.
    return na == nb;
  }
  if (a === null || b === null) return a === b;
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  if (a instanceof PyFile || b instanceof PyFile) return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => pyEquals(item, b[i] as PyValue));
  }
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) {
      if (!b.has(k) || !pyEquals(v, b.get(k) as PyValue)) return false;
    }
    return true;
  }
  return false;
}

/** A JSON-friendly copy (dicts become objects, bigints strings) for the simulator's own views. */
export function toPlain(v: PyValue): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof PyFloat || v instanceof PyFile) return v.toJSON();
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, item] of v) {
      Object.defineProperty(out, k, {
        value: toPlain(item),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return v;
}

/** Builds a PyDict from an object literal; for handlers that answer with dicts. */
export function pyDict(entries: Record<string, PyValue>): PyDict {
  return new Map(Object.entries(entries));
}
