/**
 * Crash injection for tests (RELIABILITY.md test 22): with PGC_FAULT_AT=<point>[,<point>…] the
 * agent SIGKILLs itself the first time a job reaches one of those points (before-spawn,
 * after-spawn, after-exit, after-result). Only the CLI reads the variable; nothing else changes.
 */
import type { FaultPoint } from '../agent/runner/job-runner.js';

export function faultHook(
  env: Readonly<Record<string, string | undefined>>,
): ((point: FaultPoint) => void) | undefined {
  const points = (env.PGC_FAULT_AT ?? '').split(',').filter((p) => p !== '');
  if (points.length === 0) return undefined;
  return (point) => {
    if (!points.includes(point)) return;
    process.stderr.write(`pgc: PGC_FAULT_AT=${point}: killing this agent now\n`);
    process.kill(process.pid, 'SIGKILL');
  };
}
