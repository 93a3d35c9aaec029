import { describe, expect, it } from 'vitest';
import { parsePythonLiteral } from '../../../../control/panda/python-literal.js';
import { ValidationError } from '../../../../shared/errors.js';

describe('parsePythonLiteral', () => {
  it('reads the dict and list literals runGen receives', () => {
    expect(
      parsePythonLiteral(
        "{'out.dat': 'user.x._01.out.dat', 'output.tar.gz': \"user.x._01.output.tar.gz\",}",
      ),
    ).toEqual({
      'out.dat': 'user.x._01.out.dat',
      'output.tar.gz': 'user.x._01.output.tar.gz',
    });
    expect(parsePythonLiteral("['a.root', 'b.root']")).toEqual(['a.root', 'b.root']);
    expect(parsePythonLiteral('()')).toEqual([]);
  });

  it('handles escapes, raw and adjacent strings, numbers and constants as Python does', () => {
    expect(parsePythonLiteral("'it\\'s\\n\\x41\\u00e9\\101'")).toBe("it's\nAéA");
    expect(parsePythonLiteral("r'a\\d' 'b'")).toBe('a\\db');
    expect(parsePythonLiteral("'''multi\nline'''")).toBe('multi\nline');
    expect(parsePythonLiteral('[1, -2.5, 1_000, True, False, None]')).toEqual([
      1,
      -2.5,
      1000,
      true,
      false,
      null,
    ]);
  });

  it('refuses anything that is not a literal, naming where', () => {
    const cases = [
      "__import__('os').system('x')",
      "{'a': 1",
      "['a' 'b'",
      "'unterminated",
      '{1: 2}',
      "['a'] + ['b']",
      'os.environ',
    ];
    for (const text of cases) expect(() => parsePythonLiteral(text), text).toThrow(ValidationError);
    expect(() => parsePythonLiteral("{'a': 1")).toThrow(/offset 7/);
  });

  it('bounds nesting', () => {
    expect(() => parsePythonLiteral(`${'['.repeat(100)}${']'.repeat(100)}`)).toThrow(
      /nesting deeper than/,
    );
  });
});
