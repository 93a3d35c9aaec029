/**
 * Readers for the fields of a PanDA dispatcher job (reference/panda-protocol.md §1.4): lists are
 * comma-joined strings aligned by position, and unset values often arrive as the string "NULL".
 */
import { ValidationError } from '../../shared/errors.js';

/** A job as acquire_jobs returns it: a flat JSON object. */
export type RawPandaJob = Record<string, unknown>;

const isNull = (v: unknown): boolean => v === undefined || v === null || v === 'NULL' || v === '';

/** A string field, or undefined when absent or "NULL". Numbers are accepted as their text. */
export function textField(job: RawPandaJob, key: string): string | undefined {
  const v = job[key];
  if (isNull(v)) return undefined;
  if (typeof v === 'string') {
    // JSON bodies are decoded leniently; U+FFFD marks bytes that were not UTF-8.
    if (v.includes('\uFFFD')) throw new ValidationError(`${key} is not valid UTF-8`);
    return v;
  }
  if (typeof v === 'number') return String(v);
  throw new ValidationError(
    `${key} must be a string, got ${Array.isArray(v) ? 'a list' : typeof v}`,
  );
}

/** An integer field (number or digit string), or undefined when absent or "NULL". */
export function intField(job: RawPandaJob, key: string): number | undefined {
  const v = job[key];
  if (isNull(v)) return undefined;
  const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) {
    throw new ValidationError(`${key} must be an integer, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** A comma-joined list field; "NULL" items become ''. */
export function listField(job: RawPandaJob, key: string): string[] {
  const text = textField(job, key);
  if (text === undefined) return [];
  return text.split(',').map((item) => (item === 'NULL' ? '' : item));
}

/** Parallel list fields must line up with the first one; missing ones read as empty. */
export function parallelLists(job: RawPandaJob, keys: readonly string[]): string[][] {
  const lists = keys.map((k) => listField(job, k));
  const length = lists[0]?.length ?? 0;
  return lists.map((list, i) => {
    if (list.length === 0) return new Array<string>(length).fill('');
    if (list.length !== length) {
      throw new ValidationError(
        `${keys[i]} has ${list.length} entries but ${keys[0]} has ${length}`,
      );
    }
    return list;
  });
}

// File names become paths and words in shell commands: one rule for control plane and agent.
export { checkFileName } from '../../shared/file-names.js';
