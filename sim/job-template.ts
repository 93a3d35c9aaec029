/**
 * prun-style job parameters for a runGen user job (client PrunScript.py; reference §4.2):
 *
 *   -j "" --sourceURL <url> -r . -a <archive> -o "{'<local>': '<LFN>'}" -i "['<LFN>']" -p "<quoted exec>"
 *
 * `-o` and `-i` are Python literals (repr), `-p` is urllib.parse.quote of the --exec string or
 * command, so a literal `%IN` travels as `%25IN`. Pure: no I/O, deterministic.
 */
import { ValidationError } from '../shared/errors.js';
import { pyRepr } from './py-format.js';
import { urllibQuote } from './py-quote.js';
import type { PyValue } from './py-value.js';

/** The generic user transformation JEDI assigns to prun jobs. */
export const RUNGEN = 'runGen-00-00-02';

export function transformationUrl(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/trf/user/${RUNGEN}`;
}

export interface JobParsSpec {
  /** scheme://host[:port] of the cache server. */
  sourceUrl: string;
  /** The sandbox in the cache, e.g. `jobO.<uuid>.tar.gz`. */
  archive: string;
  /** Local output name → LFN, in order. */
  outputs: readonly (readonly [string, string])[];
  /** Input LFNs; `-i` is left out when there are none. */
  inputs?: readonly string[];
  /** The --exec JSON text or a shell command, sent URL-quoted. */
  exec: string;
  /** runGen's -r; prun uses "." unless the job runs in a subdirectory. */
  runDir?: string;
}

// Characters that would break the double-quoted `-o "..."`/`-i "..."` words or runGen's parsing.
const UNSAFE_NAME = /["'\\\s$`\p{Cc}]/u;

function checkWord(what: string, value: string): void {
  if (value === '' || UNSAFE_NAME.test(value)) {
    throw new ValidationError(
      `${what} ${JSON.stringify(value)} is empty or has quotes, spaces or control characters`,
    );
  }
}

/** prun's output LFN: `<dataset stem>._<6-digit serial>.<local name>`, one per job. */
export function outputLfn(datasetStem: string, serial: number, localName: string): string {
  return `${datasetStem}._${String(serial).padStart(6, '0')}.${localName}`;
}

export function buildJobPars(spec: JobParsSpec): string {
  checkWord('sourceURL', spec.sourceUrl);
  checkWord('archive', spec.archive);
  const runDir = spec.runDir ?? '.';
  checkWord('run directory', runDir);
  const outputs = new Map<string, PyValue>();
  for (const [local, lfn] of spec.outputs) {
    checkWord('output name', local);
    checkWord('output LFN', lfn);
    if (outputs.has(local))
      throw new ValidationError(`output ${JSON.stringify(local)} is listed twice`);
    outputs.set(local, lfn);
  }
  const words = [
    '-j ""',
    `--sourceURL ${spec.sourceUrl}`,
    `-r ${runDir}`,
    `-a ${spec.archive}`,
    `-o "${pyRepr(outputs)}"`,
  ];
  const inputs = spec.inputs ?? [];
  if (inputs.length > 0) {
    for (const lfn of inputs) checkWord('input LFN', lfn);
    words.push(`-i "${pyRepr([...inputs])}"`);
  }
  words.push(`-p "${urllibQuote(spec.exec)}"`);
  return words.join(' ');
}
