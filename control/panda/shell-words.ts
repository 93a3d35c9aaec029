/**
 * Splits an argument string the way a POSIX shell does (the pilot runs `./runGen <jobPars>` through
 * a shell): whitespace separates words, single quotes are literal, double quotes allow `\"`, `\\`,
 * `\$` and `` \` `` escapes, and a backslash outside quotes escapes the next character. Nothing is
 * expanded. Unbalanced quotes are an error, as they are for the shell.
 */
import { ValidationError } from '../../shared/errors.js';

export function splitShellWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new ValidationError(`unbalanced single quote at offset ${i}`);
      word += text.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; ; j++) {
        if (j >= text.length) throw new ValidationError(`unbalanced double quote at offset ${i}`);
        const d = text[j] as string;
        if (d === '"') break;
        if (d === '\\' && j + 1 < text.length && '"\\$`\n'.includes(text[j + 1] as string)) {
          if (text[j + 1] !== '\n') word += text[j + 1];
          j++;
        } else word += d;
      }
      inWord = true;
      i = j;
    } else if (c === '\\') {
      if (i + 1 < text.length && text[i + 1] !== '\n') word += text[i + 1];
      inWord = true;
      i++;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}
