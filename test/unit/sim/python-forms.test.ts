import { describe, expect, it } from 'vitest';
import { pyFloatRepr, pyJsonDumps, pyRepr, pyStrRepr } from '../../../sim/py-format.js';
import { parsePyJson } from '../../../sim/py-json.js';
import { urllibQuote } from '../../../sim/py-quote.js';
import { PyFloat, pyDict, pyEquals, pyTypeName } from '../../../sim/py-value.js';

// Every expected string below was printed once by python3 3.11 (urllib.parse.quote, repr,
// json.dumps, json.loads) and pasted here.

describe('urllibQuote (Python urllib.parse.quote, safe="/")', () => {
  it('quotes a prun --exec JSON exactly as Python, so %IN travels as %25IN', () => {
    const exec =
      '{"func_name": "main1", "pre_script": "from training.train1 import main1", "kwargs": {"input_file": "%IN", "output_file": "output.tar.gz", "example_run": true}}';
    expect(urllibQuote(exec)).toBe(
      '%7B%22func_name%22%3A%20%22main1%22%2C%20%22pre_script%22%3A%20%22from%20training.train1%20import%20main1%22%2C%20%22kwargs%22%3A%20%7B%22input_file%22%3A%20%22%25IN%22%2C%20%22output_file%22%3A%20%22output.tar.gz%22%2C%20%22example_run%22%3A%20true%7D%7D',
    );
  });

  it('keeps only letters, digits, "_.-~" and "/" (unlike encodeURIComponent)', () => {
    expect(urllibQuote("echo %IN > out.txt && python -c 'print(1)'")).toBe(
      'echo%20%25IN%20%3E%20out.txt%20%26%26%20python%20-c%20%27print%281%29%27',
    );
    expect(urllibQuote("a/b c~d_e.f-g!*'();:@&=+$,?#[]")).toBe(
      'a/b%20c~d_e.f-g%21%2A%27%28%29%3B%3A%40%26%3D%2B%24%2C%3F%23%5B%5D',
    );
    expect(urllibQuote('tab\there\nnewline%25')).toBe('tab%09here%0Anewline%2525');
  });

  it('percent-encodes UTF-8 bytes with uppercase hex', () => {
    expect(urllibQuote('héllo wörld ✓ 😀')).toBe(
      'h%C3%A9llo%20w%C3%B6rld%20%E2%9C%93%20%F0%9F%98%80',
    );
  });

  it("refuses a lone surrogate, as Python's strict UTF-8 encoder does", () => {
    expect(() => urllibQuote('a\ud800b')).toThrow(/unpaired UTF-16 surrogate/);
  });
});

describe('pyRepr (Python repr/str)', () => {
  it('writes the reply envelope as str() of a dict', () => {
    expect(pyRepr(pyDict({ success: false, message: 'No jobs in PanDA', data: null }))).toBe(
      "{'success': False, 'message': 'No jobs in PanDA', 'data': None}",
    );
  });

  it('chooses quotes and escapes strings like CPython', () => {
    expect(
      pyRepr(['in1.dat', "it's", 'a"b', 'both\'"', 'tab\t', '\x7f\x80\xa0é\u2028😀\u{e0001}']),
    ).toBe(
      `['in1.dat', "it's", 'a"b', 'both\\'"', 'tab\\t', '\\x7f\\x80\\xa0é\\u2028😀\\U000e0001']`,
    );
    expect(pyStrRepr('back\\slash\r')).toBe("'back\\\\slash\\r'");
  });

  it('writes floats with repr() rules: 1.0, 1e+16, 1.5e-05', () => {
    const floats = pyDict({
      a: new PyFloat(1),
      b: new PyFloat(1e16),
      c: new PyFloat(1.5e-5),
      d: new PyFloat(0.0001),
      e: new PyFloat(123456789012345.6),
      f: new PyFloat(-0),
      g: new PyFloat(2.5e-7),
      h: new PyFloat(1e22),
      i: true,
      j: [1, 'x', null],
    });
    expect(pyRepr(floats)).toBe(
      "{'a': 1.0, 'b': 1e+16, 'c': 1.5e-05, 'd': 0.0001, 'e': 123456789012345.6, 'f': -0.0, 'g': 2.5e-07, 'h': 1e+22, 'i': True, 'j': [1, 'x', None]}",
    );
    expect(pyFloatRepr(Number.NaN)).toBe('nan');
  });
});

describe('pyJsonDumps (json.dumps defaults)', () => {
  it('uses ", " and ": " separators and ensure_ascii escapes', () => {
    const value = pyDict({
      a: new PyFloat(1),
      b: new PyFloat(1e16),
      c: 'é\u2028😀"\\\n\x01',
      d: [1, null, true],
      e: new PyFloat(Number.NaN),
      f: new PyFloat(Number.POSITIVE_INFINITY),
    });
    expect(pyJsonDumps(value)).toBe(
      '{"a": 1.0, "b": 1e+16, "c": "\\u00e9\\u2028\\ud83d\\ude00\\"\\\\\\n\\u0001", "d": [1, null, true], "e": NaN, "f": Infinity}',
    );
    expect(pyJsonDumps(pyDict({ success: true, message: '', data: null }))).toBe(
      '{"success": true, "message": "", "data": null}',
    );
  });
});

describe('parsePyJson (json.loads)', () => {
  it('tells ints from floats, which JSON.parse cannot', () => {
    const v = parsePyJson('{"i": 1, "f": 1.0, "e": 2e3, "neg": -0, "big": 12345678901234567890}');
    expect(v).toBeInstanceOf(Map);
    const m = v as Map<string, unknown>;
    expect(m.get('i')).toBe(1);
    expect(m.get('f')).toEqual(new PyFloat(1));
    expect(m.get('e')).toEqual(new PyFloat(2000));
    expect(m.get('neg')).toBe(0);
    expect(m.get('big')).toBe(12345678901234567890n);
  });

  it('keeps key order (also for numeric keys), takes the last duplicate, accepts NaN', () => {
    const m = parsePyJson('{"b": 1, "10": 2, "a": 3, "b": 4, "n": NaN}') as Map<string, unknown>;
    expect([...m.keys()]).toEqual(['b', '10', 'a', 'n']);
    expect(m.get('b')).toBe(4);
    expect((m.get('n') as PyFloat).value).toBeNaN();
  });

  it("fails with Python's JSONDecodeError messages", () => {
    const cases: [string, string][] = [
      ['', 'Expecting value: line 1 column 1 (char 0)'],
      ['{"a":', 'Expecting value: line 1 column 6 (char 5)'],
      ['[1,]', 'Expecting value: line 1 column 4 (char 3)'],
      ['{"a" 1}', "Expecting ':' delimiter: line 1 column 6 (char 5)"],
      ['{"a":1,}', 'Expecting property name enclosed in double quotes: line 1 column 8 (char 7)'],
      ['{"a":1} x', 'Extra data: line 1 column 9 (char 8)'],
      ['"abc', 'Unterminated string starting at: line 1 column 1 (char 0)'],
      ['{"a":"\x01"}', 'Invalid control character at: line 1 column 7 (char 6)'],
      ['{"a":"\\q"}', 'Invalid \\escape: line 1 column 7 (char 6)'],
      ['01', 'Extra data: line 1 column 2 (char 1)'],
      ['{a:1}', 'Expecting property name enclosed in double quotes: line 1 column 2 (char 1)'],
    ];
    for (const [src, message] of cases) expect(() => parsePyJson(src), src).toThrow(message);
  });

  it('refuses absurd nesting instead of overflowing the stack', () => {
    expect(() => parsePyJson('['.repeat(100_000))).toThrow(/recursion/);
  });
});

describe('Python value semantics', () => {
  it('names types as type(v).__name__ and compares like ==', () => {
    expect(
      [null, true, 1, 2n, 'x', new PyFloat(1), [], new Map()].map((v) => pyTypeName(v)),
    ).toEqual(['NoneType', 'bool', 'int', 'int', 'str', 'float', 'list', 'dict']);
    expect(pyEquals(1, true)).toBe(true);
    expect(pyEquals(60, new PyFloat(60))).toBe(true);
    expect(pyEquals([], [])).toBe(true);
    expect(pyEquals('60', 60)).toBe(false);
    expect(pyEquals(null, 0)).toBe(false);
  });
});
