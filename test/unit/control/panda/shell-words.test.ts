import { describe, expect, it } from 'vitest';
import { splitShellWords } from '../../../../control/panda/shell-words.js';

describe('splitShellWords', () => {
  it('splits like a POSIX shell without expanding anything', () => {
    expect(
      splitShellWords(`-j "" --sourceURL https://h -o "{'a': 'b'}" -p 'x y' a\\ b $HOME`),
    ).toEqual([
      '-j',
      '',
      '--sourceURL',
      'https://h',
      '-o',
      "{'a': 'b'}",
      '-p',
      'x y',
      'a b',
      '$HOME',
    ]);
    expect(splitShellWords('"a\\"b" "c\\d"')).toEqual(['a"b', 'c\\d']);
  });

  it('reports unbalanced quotes', () => {
    expect(() => splitShellWords('-p "abc')).toThrow('unbalanced double quote at offset 3');
    expect(() => splitShellWords("-o '{")).toThrow('unbalanced single quote');
  });
});
