/**
 * Reads a runGen `jobPars` string (reference/panda-protocol.md §4.2, §4.3): the options prun
 * writes for a user job. Options we implement are parsed; options runGen knows but panda-gc does
 * not implement are refused by name (running the job without them would silently do something
 * else); anything else is an unknown option. Pure; errors are ValidationErrors naming the problem.
 */
import { ValidationError } from '../../shared/errors.js';
import { parsePythonLiteral } from './python-literal.js';
import { splitShellWords } from './shell-words.js';

export interface RunGenArgs {
  /** --sourceURL: scheme://host[:port] of the PanDA cache. */
  sourceUrl?: string;
  /** -r: directory inside the sandbox to run from ('' = top). */
  runDir: string;
  /** -a: the user's code archive in the cache. */
  archive?: string;
  /** -o: local output name → output LFN. */
  outputs: Record<string, string>;
  /** -i: input LFNs. */
  inputs?: string[];
  /** -p, URL-decoded: the --exec string (JSON for function jobs, else a command). */
  exec?: string;
}

// Options runGen knows (wn src/rungen/runGen.py getopt list) that panda-gc does not implement.
const UNSUPPORTED = new Map<string, string>([
  ['-l', 'build jobs (-l library) are not supported; submit with prun --noBuild'],
  ['-u', 'option -u is not supported'],
  ['--inMap', '--inMap (per-stream inputs) is not supported'],
  ['--writeInputToTxt', '--writeInputToTxt is not supported'],
  ['--dbrFile', '--dbrFile (DBRelease) is not supported'],
  ['--useAthenaPackages', '--useAthenaPackages is not supported'],
  ['--execWithRealFileNames', '--execWithRealFileNames is not supported'],
  ['--fileToSave', '--fileToSave is not supported'],
  ['--fileToLoad', '--fileToLoad is not supported'],
  ['--preprocess', '--preprocess is not supported'],
  ['--postprocess', '--postprocess is not supported'],
  [
    '--containerImage',
    '--containerImage is not supported (the endpoint runs payloads without containers)',
  ],
  ['--useCentralRegistry', '--useCentralRegistry is not supported'],
]);
// Options that only describe the environment runGen ran in; safe to accept and ignore.
const IGNORED = new Set(['--cmtConfig']);
const TAKES_VALUE = new Set(['-j', '--sourceURL', '-r', '-a', '-o', '-i', '-p', '--cmtConfig']);

/** Python's urllib.parse.unquote: %XX sequences are UTF-8 bytes; malformed ones stay as written. */
export function pythonUnquote(text: string): string {
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    const bytes = Buffer.from(run.replace(/%/g, ''), 'hex');
    return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  });
}

function parseDict(text: string, option: string): Record<string, string> {
  let value: unknown;
  try {
    value = parsePythonLiteral(text);
  } catch (err) {
    throw new ValidationError(`${option} is not a Python dict literal: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(`${option} must be a dict of output name to LFN`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string')
      throw new ValidationError(`${option}: the LFN of output '${k}' is not a string`);
    out[k] = v;
  }
  return out;
}

function parseList(text: string, option: string): string[] {
  let value: unknown;
  try {
    value = parsePythonLiteral(text);
  } catch (err) {
    throw new ValidationError(`${option} is not a Python list literal: ${(err as Error).message}`);
  }
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new ValidationError(`${option} must be a list of input LFNs`);
  }
  return value as string[];
}

function normaliseRunDir(dir: string): string {
  const parts = dir.split('/').filter((p) => p !== '' && p !== '.');
  if (dir.startsWith('/') || parts.some((p) => p === '..' || !/^[A-Za-z0-9._+=@-]+$/.test(p))) {
    throw new ValidationError(
      `-r ${JSON.stringify(dir)} must be a relative directory inside the sandbox`,
    );
  }
  return parts.join('/');
}

/** Parses jobPars into runGen's options. */
export function parseRunGenArgs(jobPars: string): RunGenArgs {
  let words: string[];
  try {
    words = splitShellWords(jobPars);
  } catch (err) {
    throw new ValidationError(`jobPars cannot be split into arguments: ${(err as Error).message}`);
  }
  const args: RunGenArgs = { runDir: '', outputs: {} };
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    let option = word;
    let value: string | undefined;
    if (word.startsWith('--') && word.includes('=')) {
      option = word.slice(0, word.indexOf('='));
      value = word.slice(word.indexOf('=') + 1);
    } else if (/^-[a-z]./.test(word)) {
      // getopt lets a short option's value follow without a space: -r.
      option = word.slice(0, 2);
      value = word.slice(2);
    }
    const unsupported = UNSUPPORTED.get(option);
    if (unsupported !== undefined) throw new ValidationError(`jobPars: ${unsupported}`);
    if (!TAKES_VALUE.has(option)) {
      throw new ValidationError(
        word.startsWith('-')
          ? `jobPars: unknown option ${option}`
          : `jobPars: unexpected argument ${JSON.stringify(word)}`,
      );
    }
    if (value === undefined) {
      if (i + 1 >= words.length)
        throw new ValidationError(`jobPars: option ${option} needs a value`);
      value = words[++i] as string;
    }
    if (IGNORED.has(option)) continue;
    switch (option) {
      case '-j':
        break;
      case '--sourceURL':
        args.sourceUrl = value;
        break;
      case '-r':
        args.runDir = normaliseRunDir(value);
        break;
      case '-a':
        args.archive = value;
        break;
      case '-o':
        args.outputs = parseDict(value, '-o');
        break;
      case '-i':
        args.inputs = parseList(value, '-i');
        break;
      case '-p':
        args.exec = pythonUnquote(value);
        break;
    }
  }
  return args;
}
