/**
 * Python's urllib.parse.quote(s, safe='/'): prun URL-quotes the --exec string into jobPars
 * (client PsubUtils.py::convertParamStrToJediParam), so `%IN` arrives as `%25IN` and runGen
 * unquotes it. encodeURIComponent differs (it keeps !'()* and encodes /), hence this.
 */
import { ValidationError } from '../shared/errors.js';

// Always safe in Python 3.7+: ASCII letters, digits and "_.-~".
const ALWAYS_SAFE = /^[A-Za-z0-9_.\-~]$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function urllibQuote(s: string, safe = '/'): string {
  if (LONE_SURROGATE.test(s)) {
    // Python's strict UTF-8 encoder refuses lone surrogates; so do we rather than guess.
    throw new ValidationError('cannot quote a string with an unpaired UTF-16 surrogate');
  }
  let out = '';
  for (const ch of s) {
    if (ALWAYS_SAFE.test(ch) || (ch.length === 1 && ch.charCodeAt(0) < 0x80 && safe.includes(ch))) {
      out += ch;
      continue;
    }
    for (const byte of Buffer.from(ch, 'utf8')) {
      out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    }
  }
  return out;
}
