/**
 * JSON decoding with Python's json.loads semantics, because the server type-checks what
 * json.loads returns: `1` is an int, `1.0` a float (JSON.parse cannot tell them apart), objects keep
 * key order, NaN/Infinity are accepted, duplicate keys keep the last value. Errors carry Python's
 * JSONDecodeError wording ("Expecting value: line 1 column 1 (char 0)"), which the server sends
 * back as the body of its HTTP 500 (srv server/panda.py: `return [str(exc).encode()]`).
 */
import { PyFloat, type PyValue } from './py-value.js';

export class PyJsonError extends Error {
  override name = 'PyJsonError';
}

// CPython refuses int strings longer than this (sys.int_info.default_max_str_digits).
const MAX_INT_DIGITS = 4300;
// Deeper nesting ends in RecursionError on the server; refuse it before our own stack suffers.
const MAX_DEPTH = 500;
const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/y;
const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

export function parsePyJson(text: string): PyValue {
  const src = text.startsWith('\ufeff') ? text.slice(1) : text;
  let pos = 0;

  const fail = (message: string, at: number): never => {
    const before = src.slice(0, at);
    const line = before.split('\n').length;
    const column = at - before.lastIndexOf('\n');
    throw new PyJsonError(`${message}: line ${line} column ${column} (char ${at})`);
  };
  const skipWs = (): void => {
    while (pos < src.length && ' \t\n\r'.includes(src.charAt(pos))) pos++;
  };

  const parseString = (): string => {
    const start = pos; // at the opening quote
    pos++;
    let out = '';
    for (;;) {
      if (pos >= src.length) fail('Unterminated string starting at', start);
      const ch = src.charAt(pos);
      if (ch === '"') {
        pos++;
        return out;
      }
      if (ch === '\\') {
        const esc = src.charAt(pos + 1);
        if (esc === 'u') {
          const hex = src.slice(pos + 2, pos + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('Invalid \\uXXXX escape', pos + 1);
          out += String.fromCharCode(Number.parseInt(hex, 16));
          pos += 6;
          continue;
        }
        const decoded = ESCAPES[esc];
        if (decoded === undefined) {
          if (esc === '') fail('Unterminated string starting at', start);
          fail('Invalid \\escape', pos);
        }
        out += decoded;
        pos += 2;
        continue;
      }
      if (ch.charCodeAt(0) < 0x20) fail('Invalid control character at', pos);
      out += ch;
      pos++;
    }
  };

  const parseNumber = (): PyValue => {
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(src);
    if (m === null) return fail('Expecting value', pos);
    pos += m[0].length;
    if (m[1] !== undefined || m[2] !== undefined) return new PyFloat(Number(m[0]));
    const digits = m[0].replace('-', '');
    if (digits.length > MAX_INT_DIGITS) {
      throw new PyJsonError(
        `Exceeds the limit (${MAX_INT_DIGITS} digits) for integer string conversion`,
      );
    }
    const n = Number(m[0]);
    return Number.isSafeInteger(n) ? (Object.is(n, -0) ? 0 : n) : BigInt(m[0]);
  };

  const parseValue = (depth: number): PyValue => {
    if (depth > MAX_DEPTH) throw new PyJsonError('maximum recursion depth exceeded');
    const ch = src.charAt(pos);
    if (ch === '"') return parseString();
    if (ch === '{') return parseObject(depth);
    if (ch === '[') return parseArray(depth);
    for (const [word, value] of [
      ['null', null],
      ['true', true],
      ['false', false],
      ['NaN', new PyFloat(Number.NaN)],
      ['Infinity', new PyFloat(Number.POSITIVE_INFINITY)],
      ['-Infinity', new PyFloat(Number.NEGATIVE_INFINITY)],
    ] as const) {
      if (src.startsWith(word, pos)) {
        pos += word.length;
        return value;
      }
    }
    if (ch === '-' || (ch >= '0' && ch <= '9')) return parseNumber();
    return fail('Expecting value', pos);
  };

  const parseObject = (depth: number): PyValue => {
    const out = new Map<string, PyValue>();
    pos++;
    skipWs();
    if (src.charAt(pos) === '}') {
      pos++;
      return out;
    }
    for (;;) {
      if (src.charAt(pos) !== '"') fail('Expecting property name enclosed in double quotes', pos);
      const key = parseString();
      skipWs();
      if (src.charAt(pos) !== ':') fail("Expecting ':' delimiter", pos);
      pos++;
      skipWs();
      out.set(key, parseValue(depth + 1));
      skipWs();
      const next = src.charAt(pos);
      pos++;
      if (next === '}') return out;
      if (next !== ',') fail("Expecting ',' delimiter", pos - 1);
      skipWs();
    }
  };

  const parseArray = (depth: number): PyValue => {
    const out: PyValue[] = [];
    pos++;
    skipWs();
    if (src.charAt(pos) === ']') {
      pos++;
      return out;
    }
    for (;;) {
      out.push(parseValue(depth + 1));
      skipWs();
      const next = src.charAt(pos);
      pos++;
      if (next === ']') return out;
      if (next !== ',') fail("Expecting ',' delimiter", pos - 1);
      skipWs();
    }
  };

  skipWs();
  const value = parseValue(0);
  skipWs();
  if (pos !== src.length) fail('Extra data', pos);
  return value;
}
