/** The flag-driven payload fixture (test/fixtures/payload.py) and helpers to look at processes. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const PAYLOAD_FIXTURE = fileURLToPath(new URL('../fixtures/payload.py', import.meta.url));

export interface PayloadFlags {
  runMs?: number;
  exitCode?: number;
  ignoreSigterm?: boolean;
  stdoutBytes?: number;
  stderrBytes?: number;
  spawnGrandchild?: number;
  allocMb?: number;
  writeFiles?: Record<string, number>;
  dieBySignal?: NodeJS.Signals;
  pidFile?: string;
  /** Lines `tick <n> at <epoch ms>` printed to stdout one by one, `tickMs` apart. */
  ticks?: number;
  tickMs?: number;
}

/** The argv (after the interpreter) that runs the fixture with these flags. */
export function payloadArgs(flags: PayloadFlags): string[] {
  const args = [PAYLOAD_FIXTURE];
  if (flags.runMs !== undefined) args.push('--run-ms', String(flags.runMs));
  if (flags.exitCode !== undefined) args.push('--exit-code', String(flags.exitCode));
  if (flags.ignoreSigterm) args.push('--ignore-sigterm');
  if (flags.stdoutBytes) args.push('--stdout-bytes', String(flags.stdoutBytes));
  if (flags.stderrBytes) args.push('--stderr-bytes', String(flags.stderrBytes));
  if (flags.spawnGrandchild) args.push('--spawn-grandchild', String(flags.spawnGrandchild));
  if (flags.allocMb) args.push('--alloc-mb', String(flags.allocMb));
  for (const [name, bytes] of Object.entries(flags.writeFiles ?? {}))
    args.push('--write-file', `${name}=${bytes}`);
  if (flags.dieBySignal) args.push('--die-by-signal', flags.dieBySignal);
  if (flags.pidFile) args.push('--pid-file', flags.pidFile);
  if (flags.ticks) args.push('--ticks', String(flags.ticks));
  if (flags.tickMs !== undefined) args.push('--tick-ms', String(flags.tickMs));
  return args;
}

/** The fixture's byte pattern, to compare captured output with. */
export function payloadPattern(bytes: number): Buffer {
  const out = Buffer.alloc(bytes + 14);
  let at = 0;
  for (let i = 1; at < bytes; i++)
    at += out.write(`line ${String(i).padStart(8, '0')}\n`, at, 'latin1');
  return out.subarray(0, bytes);
}

/** True while a process with this pid exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
