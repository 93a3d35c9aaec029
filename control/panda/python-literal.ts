/**
 * A safe reader for the Python literals runGen's arguments carry: `-o "{'out.dat': 'LFN'}"` is a
 * dict literal and `-i "['a', 'b']"` a list literal (runGen reads them with literal_eval,
 * reference/panda-protocol.md §4.3). Only literals: strings, numbers, True/False/None, lists,
 * tuples and dicts with string keys. Nothing is evaluated. Errors name the position.
 */
import { ValidationError } from '../../shared/errors.js';

export type PyValue = string | number | boolean | null | PyValue[] | { [key: string]: PyValue };

const MAX_DEPTH = 32;

class Reader {
  pos = 0;
  constructor(private readonly text: string) {}

  fail(message: string): never {
    throw new ValidationError(`${message} at offset ${this.pos}`);
  }

  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos] as string)) this.pos++;
  }

  peek(): string {
    return this.text[this.pos] ?? '';
  }

  expect(char: string): void {
    this.skipSpace();
    if (this.peek() !== char) this.fail(`expected '${char}'`);
    this.pos++;
  }

  value(depth: number): PyValue {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    this.skipSpace();
    const c = this.peek();
    if (c === '[') return this.sequence(']', depth);
    if (c === '(') return this.sequence(')', depth);
    if (c === '{') return this.dict(depth);
    if (c === "'" || c === '"' || /^[rRuU]['"]/.test(this.text.slice(this.pos, this.pos + 2)))
      return this.strings();
    if (/[-+0-9.]/.test(c)) return this.number();
    for (const [word, value] of [
      ['True', true],
      ['False', false],
      ['None', null],
    ] as const) {
      if (
        this.text.startsWith(word, this.pos) &&
        !/[A-Za-z0-9_]/.test(this.text[this.pos + word.length] ?? '')
      ) {
        this.pos += word.length;
        return value;
      }
    }
    if (c === '') this.fail('unexpected end of literal');
    return this.fail(`unexpected ${JSON.stringify(c)} (only Python literals are allowed)`);
  }

  sequence(close: string, depth: number): PyValue[] {
    this.pos++;
    const items: PyValue[] = [];
    for (;;) {
      this.skipSpace();
      if (this.peek() === close) {
        this.pos++;
        return items;
      }
      items.push(this.value(depth + 1));
      this.skipSpace();
      if (this.peek() === ',') this.pos++;
      else if (this.peek() !== close) this.fail(`expected ',' or '${close}'`);
    }
  }

  dict(depth: number): { [key: string]: PyValue } {
    this.pos++;
    const out: { [key: string]: PyValue } = {};
    for (;;) {
      this.skipSpace();
      if (this.peek() === '}') {
        this.pos++;
        return out;
      }
      const key = this.value(depth + 1);
      if (typeof key !== 'string') this.fail('dict keys must be strings');
      this.expect(':');
      out[key] = this.value(depth + 1);
      this.skipSpace();
      if (this.peek() === ',') this.pos++;
      else if (this.peek() !== '}') this.fail("expected ',' or '}'");
    }
  }

  /** One or more adjacent string literals, concatenated as Python does. */
  strings(): string {
    let out = this.string();
    for (;;) {
      const save = this.pos;
      this.skipSpace();
      const c = this.peek();
      if (c === "'" || c === '"' || /^[rRuU]['"]/.test(this.text.slice(this.pos, this.pos + 2)))
        out += this.string();
      else {
        this.pos = save;
        return out;
      }
    }
  }

  string(): string {
    let raw = false;
    if (/[rRuU]/.test(this.peek())) {
      raw = /[rR]/.test(this.peek());
      this.pos++;
    }
    const quote = this.peek();
    const triple = this.text.startsWith(quote.repeat(3), this.pos);
    const delimiter = triple ? quote.repeat(3) : quote;
    this.pos += delimiter.length;
    let out = '';
    for (;;) {
      if (this.pos >= this.text.length) this.fail('unterminated string');
      if (this.text.startsWith(delimiter, this.pos)) {
        this.pos += delimiter.length;
        return out;
      }
      const c = this.text[this.pos] as string;
      if (c === '\n' && !triple) this.fail('newline in a single-quoted string');
      if (c === '\\' && !raw) {
        out += this.escape();
        continue;
      }
      if (c === '\\' && raw) {
        // In raw strings a backslash stays, but still protects the next quote.
        out += c + (this.text[this.pos + 1] ?? '');
        this.pos += 2;
        continue;
      }
      out += c;
      this.pos++;
    }
  }

  escape(): string {
    const c = this.text[this.pos + 1];
    this.pos += 2;
    const simple: Record<string, string> = {
      '\\': '\\',
      "'": "'",
      '"': '"',
      n: '\n',
      t: '\t',
      r: '\r',
      a: '\x07',
      b: '\b',
      f: '\f',
      v: '\v',
      '\n': '',
    };
    if (c !== undefined && c in simple) return simple[c] as string;
    const hex = (n: number): string => {
      const digits = this.text.slice(this.pos, this.pos + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(digits)) this.fail('bad escape sequence');
      this.pos += n;
      const code = Number.parseInt(digits, 16);
      if (code > 0x10ffff) this.fail('escape outside Unicode');
      return String.fromCodePoint(code);
    };
    if (c === 'x') return hex(2);
    if (c === 'u') return hex(4);
    if (c === 'U') return hex(8);
    if (c !== undefined && /[0-7]/.test(c)) {
      let digits = c;
      while (digits.length < 3 && /[0-7]/.test(this.peek())) digits += this.text[this.pos++];
      return String.fromCharCode(Number.parseInt(digits, 8));
    }
    // Python keeps unknown escapes as written.
    return `\\${c ?? ''}`;
  }

  number(): number {
    const m = /^[-+]?(?:\d[\d_]*)?(?:\.\d[\d_]*)?(?:[eE][-+]?\d+)?/.exec(this.text.slice(this.pos));
    const text = m?.[0] ?? '';
    const value = Number(text.replace(/_/g, ''));
    if (text === '' || text === '-' || text === '+' || Number.isNaN(value)) this.fail('bad number');
    this.pos += text.length;
    return value;
  }
}

/** Parses one Python literal; throws a ValidationError naming the problem and its offset. */
export function parsePythonLiteral(text: string): PyValue {
  const reader = new Reader(text);
  const value = reader.value(0);
  reader.skipSpace();
  if (reader.pos !== text.length) reader.fail('unexpected text after the literal');
  return value;
}
